import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { translateAmqpError, unroutableError } from './amqp-errors.js';
import { busClosedError, closeReason, type CloseReason } from './close-reason.js';

export interface PublishRequest {
  exchange: string;
  routingKey: string;
  body: Buffer;
  /** Also fail when no queue takes the message (`basic.return`), not only on a nack. */
  mandatory: boolean;
  properties?: Omit<Options.Publish, 'mandatory' | 'messageId'>;
  /** For error messages: `publish`, `submit`, `dead-letter`. */
  operation: string;
}

interface Returned {
  replyCode: number;
  replyText: string;
}

/**
 * Publishes on one confirm channel and turns each broker confirm into a promise. It keeps the
 * channel's close reason for later "closed" errors and the set of unconfirmed publishes, which
 * {@link AmqpPublisher.drain} waits for on shutdown.
 */
export class AmqpPublisher {
  readonly #channel: ConfirmChannel;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  /** `basic.return`s by message id. A return always reaches us before its message's confirm. */
  readonly #returned = new Map<string, Returned>();
  readonly #outranking: () => CloseReason | undefined;
  #closed: CloseReason | undefined;

  /**
   * `outranking` names a reason that beats the channel's own (the bus was closed, the connection
   * was lost), so errors explain the root cause rather than the channel's consequent close.
   */
  constructor(
    channel: ConfirmChannel,
    deps: { clock: Clock; log: Logger; outranking: () => CloseReason | undefined },
  ) {
    this.#channel = channel;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#outranking = deps.outranking;
    // The channel is unusable from its error on; the close event follows after pending confirm
    // callbacks have already failed, so the reason is recorded at the error.
    channel.on('error', (error: Error) => {
      this.#closed ??= closeReason('publish channel', this.#clock.now(), error);
      this.#log.error('publish channel failed', { reason: error.message });
    });
    channel.on('close', () => {
      this.#closed ??= closeReason('publish channel', this.#clock.now(), 'closed by the client');
    });
    channel.on('return', (message: Message) => {
      const id = message.properties.messageId as string | undefined;
      const { replyCode, replyText } = message.fields as unknown as Returned;
      if (id !== undefined) this.#returned.set(id, { replyCode, replyText });
    });
  }

  /** The channel itself, for declarations; publish through {@link AmqpPublisher.publish}. */
  get channel(): ConfirmChannel {
    return this.#channel;
  }

  /** The reason publishing is impossible, or undefined while the channel is open. */
  get closed(): CloseReason | undefined {
    return this.#outranking() ?? this.#closed;
  }

  publish(request: PublishRequest): Promise<void> {
    const closed = this.closed;
    if (closed) return Promise.reject(busClosedError(request.operation, closed));

    const pending = this.#send(request);
    this.#inFlight.add(pending);
    const forget = () => this.#inFlight.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  /** Waits for every unconfirmed publish, or `timeoutMs`, whichever comes first. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.#inFlight.size === 0) return 0;
    let cancel = (): void => undefined;
    const timeout = new Promise<void>((resolve) => {
      cancel = this.#clock.setTimer(timeoutMs, resolve);
    });
    try {
      await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
    } finally {
      cancel();
    }
    return this.#inFlight.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#channel.close();
    } catch (error) {
      // Already closing or closed underneath us; the close event records why.
      this.#log.debug('publish channel close failed', { error: String(error) });
    }
  }

  #send(request: PublishRequest): Promise<void> {
    const { exchange, routingKey, operation } = request;
    const messageId = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const onConfirm = (err: unknown) => {
        const returned = this.#returned.get(messageId);
        this.#returned.delete(messageId);
        if (err) {
          reject(translateAmqpError(err, { operation, closed: this.closed }));
        } else if (returned) {
          const { replyCode, replyText } = returned;
          reject(unroutableError(operation, replyCode, replyText, { exchange, routingKey }));
        } else {
          resolve();
        }
      };
      const options = { ...request.properties, messageId, mandatory: request.mandatory };
      try {
        // The return value only signals a full socket buffer; awaiting the confirm already
        // paces callers, so it is not used for back-pressure here.
        this.#channel.publish(exchange, routingKey, request.body, options, onConfirm);
      } catch (error) {
        reject(translateAmqpError(error, { operation, closed: this.closed }));
      }
    });
  }
}
