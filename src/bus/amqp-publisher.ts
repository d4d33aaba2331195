import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import type { AutomatError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { translateAmqpError, unroutableError } from './amqp-errors.js';
import { closeReason, type CloseReason } from './close-reason.js';

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

export interface AmqpPublisherDeps {
  clock: Clock;
  log: Logger;
  /**
   * The error that refuses `operation` outright, if any: BUS_CLOSED once the bus was closed,
   * BUS_UNAVAILABLE during an outage. It outranks a channel's own close reason, so errors explain
   * the root cause rather than the channel's consequent close.
   */
  refusal: (operation: string) => AutomatError | undefined;
  /** A fresh confirm channel on the live connection, after a broker error closed the last one. */
  reopen: () => Promise<ConfirmChannel>;
}

/** A confirm channel as the publisher uses it, with the reason it closed once it has. */
interface PublishChannel {
  channel: ConfirmChannel;
  closed: CloseReason | undefined;
}

interface Returned {
  replyCode: number;
  replyText: string;
}

/**
 * Publishes on a confirm channel and turns each broker confirm into a promise. It outlives its
 * channels: the bus attaches a new one after reconnecting, and when a broker error closed the
 * channel on a live connection (a publish to a missing exchange: 404), the next publish opens a
 * fresh one. It keeps the set of unconfirmed publishes, which {@link AmqpPublisher.drain} waits
 * for on shutdown.
 */
export class AmqpPublisher {
  readonly #deps: AmqpPublisherDeps;
  readonly #inFlight = new Set<Promise<void>>();
  /** `basic.return`s by message id. A return always reaches us before its message's confirm. */
  readonly #returned = new Map<string, Returned>();
  #current: PublishChannel | undefined;
  #reopening: Promise<PublishChannel> | undefined;

  constructor(deps: AmqpPublisherDeps) {
    this.#deps = deps;
  }

  /** Publishes on `channel` from now on; the bus calls it on connecting and reconnecting. */
  attach(channel: ConfirmChannel): void {
    this.#use(channel);
  }

  /** Forgets the channel of a connection that was lost; publishing is refused until attach. */
  detach(): void {
    this.#current = undefined;
  }

  #use(channel: ConfirmChannel): PublishChannel {
    const current: PublishChannel = { channel, closed: undefined };
    this.#current = current;
    const { clock, log } = this.#deps;
    // The channel is unusable from its error on; the close event follows after pending confirm
    // callbacks have already failed, so the reason is recorded at the error.
    channel.on('error', (error: Error) => {
      current.closed ??= closeReason('publish channel', clock.now(), error);
      log.error('publish channel failed', { reason: error.message });
    });
    channel.on('close', () => {
      current.closed ??= closeReason('publish channel', clock.now(), 'closed without an error');
    });
    channel.on('return', (message: Message) => {
      const id = message.properties.messageId as string | undefined;
      const { replyCode, replyText } = message.fields as unknown as Returned;
      if (id !== undefined) this.#returned.set(id, { replyCode, replyText });
    });
    return current;
  }

  publish(request: PublishRequest): Promise<void> {
    const refused = this.#deps.refusal(request.operation);
    if (refused) return Promise.reject(refused);

    const pending = this.#publish(request);
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
      cancel = this.#deps.clock.setTimer(timeoutMs, resolve);
    });
    try {
      await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
    } finally {
      cancel();
    }
    return this.#inFlight.size;
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    if (!current || current.closed) return;
    try {
      await current.channel.close();
    } catch (error) {
      // Already closing or closed underneath us; the close event records why.
      this.#deps.log.debug('publish channel close failed', { error: String(error) });
    }
  }

  async #publish(request: PublishRequest): Promise<void> {
    let current = this.#current;
    if (current?.closed) current = await this.#reopen(request.operation);
    const refused = this.#deps.refusal(request.operation);
    if (refused) throw refused;
    if (!current) throw new Error('AmqpPublisher used before a channel was attached');
    await this.#send(current, request);
  }

  /** One reopening at a time, shared by every publish that finds the channel closed. */
  #reopen(operation: string): Promise<PublishChannel> {
    this.#reopening ??= this.#openFresh().finally(() => {
      this.#reopening = undefined;
    });
    return this.#reopening.catch((error: unknown) => {
      throw this.#deps.refusal(operation) ?? translateAmqpError(error, { operation });
    });
  }

  async #openFresh(): Promise<PublishChannel> {
    const stale = this.#current;
    const channel = await this.#deps.reopen();
    if (this.#current !== stale) {
      // The connection was lost or replaced meanwhile; this channel belongs to the old one.
      await channel.close().catch(() => undefined);
      if (this.#current) return this.#current;
      throw new Error('the connection was lost while reopening the publish channel');
    }
    this.#deps.log.info('publish channel reopened', { after: stale?.closed?.message });
    return this.#use(channel);
  }

  #send(current: PublishChannel, request: PublishRequest): Promise<void> {
    const { exchange, routingKey, operation } = request;
    const messageId = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) =>
        this.#deps.refusal(operation) ??
        translateAmqpError(error, { operation, closed: current.closed });
      const onConfirm = (err: unknown) => {
        const returned = this.#returned.get(messageId);
        this.#returned.delete(messageId);
        if (err) {
          // amqplib fails the confirms of a dropped connection before it emits the connection's
          // close event, so the refusal that names the outage is only known a microtask later.
          queueMicrotask(() => reject(fail(err)));
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
        current.channel.publish(exchange, routingKey, request.body, options, onConfirm);
      } catch (error) {
        reject(fail(error));
      }
    });
  }
}
