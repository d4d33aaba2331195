import type { Channel, ConsumeMessage } from 'amqplib';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { translateAmqpError } from './amqp-errors.js';
import type { AmqpIntakeDelivery } from './amqp-intake-delivery.js';
import type { IntakeHandler, IntakeOptions } from './bus.js';
import { busClosedError, type CloseReason } from './close-reason.js';

export interface AmqpIntakeConsumerDeps {
  queue: string;
  log: Logger;
  /** Why the bus was closed, once it was. */
  stopped: () => CloseReason | undefined;
}

/** Wraps a broker message, received on one particular channel, for the handler. */
export type IntakeDeliveryFactory = (message: ConsumeMessage) => AmqpIntakeDelivery;

interface Attachment {
  channel: Channel;
  delivery: IntakeDeliveryFactory;
}

/**
 * The consumer of the intake queue. Pausing cancels the broker consumer (`basic.cancel`), so
 * further messages stay ready in the queue, visible as its depth; resuming consumes again with
 * the same handler and prefetch. Deliveries handed out before a pause stay valid: they are settled
 * on the channel, not the consumer.
 *
 * It outlives its channels. While none is attached (an outage), start, pause and resume only
 * record what the owner wants; {@link AmqpIntakeConsumer.attach} applies it to the next channel.
 * Operations run one at a time, so a pause cannot slip between a reconnect's prefetch and consume.
 */
export class AmqpIntakeConsumer {
  readonly #deps: AmqpIntakeConsumerDeps;
  #handler: IntakeHandler | undefined;
  #prefetch = 1;
  #paused = false;
  #tag: string | undefined;
  #attached: Attachment | undefined;
  #serial: Promise<unknown> = Promise.resolve();

  constructor(deps: AmqpIntakeConsumerDeps) {
    this.#deps = deps;
  }

  /**
   * Uses `channel` from now on and, if consumeIntake was called and intake is not paused, starts
   * consuming on it with the same handler and prefetch. Fails when the channel refuses.
   */
  attach(channel: Channel, delivery: IntakeDeliveryFactory): Promise<void> {
    return this.#exclusive(async () => {
      const attachment = { channel, delivery };
      this.#attached = attachment;
      this.#tag = undefined;
      const handler = this.#handler;
      if (handler === undefined || this.#deps.stopped()) return;
      await this.#applyPrefetch(attachment, `restart consuming queue "${this.#deps.queue}"`);
      if (this.#paused) return;
      await this.#consume(attachment, handler, `restart consuming queue "${this.#deps.queue}"`);
      this.#deps.log.info('consuming intake again', { queue: this.#deps.queue });
    });
  }

  /** Forgets the channel of a lost connection; its consumer and deliveries died with it. */
  detach(): void {
    this.#attached = undefined;
    this.#tag = undefined;
  }

  start(handler: IntakeHandler, options: IntakeOptions): Promise<void> {
    const operation = `consume queue "${this.#deps.queue}"`;
    return this.#exclusive(async () => {
      this.#assertNotStopped(operation);
      if (!Number.isInteger(options.prefetch) || options.prefetch < 1) {
        throw new AutomatError(
          ErrorCodes.CONFIG_INVALID,
          `prefetch must be an integer of at least 1, got ${options.prefetch}`,
        );
      }
      if (this.#handler !== undefined) {
        throw new AutomatError(
          ErrorCodes.ILLEGAL_STATE,
          'consumeIntake was already called on this bus',
        );
      }
      this.#prefetch = options.prefetch;
      const attachment = this.#attached;
      if (attachment) {
        try {
          await this.#applyPrefetch(attachment, operation);
          await this.#consume(attachment, handler, operation);
        } catch (error) {
          // As in resume: a channel lost meanwhile leaves the start to the next attach.
          if (this.#attached === attachment) throw error;
        }
      }
      this.#handler = handler;
      this.#deps.log.info('consuming intake', {
        queue: this.#deps.queue,
        prefetch: options.prefetch,
        deferredUntilReconnected: attachment === undefined,
      });
    });
  }

  /** Stops deliveries until {@link resume}; resolves once the broker confirmed. Idempotent. */
  async pause(): Promise<void> {
    this.#assertStarted('pause');
    await this.#exclusive(async () => {
      if (this.#paused) return;
      this.#paused = true;
      await this.#cancelConsumer();
      this.#deps.log.info('intake paused', { queue: this.#deps.queue });
    });
  }

  /** Consumes again after {@link pause}. Idempotent. */
  async resume(): Promise<void> {
    this.#assertStarted('resume');
    const operation = `resume queue "${this.#deps.queue}"`;
    await this.#exclusive(async () => {
      this.#assertNotStopped(operation);
      if (!this.#paused) return;
      const attachment = this.#attached;
      if (attachment) {
        try {
          await this.#consume(attachment, this.#handler as IntakeHandler, operation);
        } catch (error) {
          // A channel lost meanwhile is no failure: the next attach applies the resume.
          if (this.#attached === attachment) throw error;
        }
      }
      this.#paused = false;
      this.#deps.log.info('intake resumed', { queue: this.#deps.queue });
    });
  }

  /** Cancels the broker consumer, if there is one; used by the bus's close. */
  cancel(): Promise<void> {
    return this.#exclusive(() => this.#cancelConsumer());
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(task, task);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async #cancelConsumer(): Promise<void> {
    const tag = this.#tag;
    const attachment = this.#attached;
    this.#tag = undefined;
    if (tag === undefined || attachment === undefined) return;
    try {
      await attachment.channel.cancel(tag);
    } catch (error) {
      // The channel is gone, and with it the consumer.
      this.#deps.log.debug('ignored error while cancelling the intake consumer', {
        error: String(error),
      });
    }
  }

  async #applyPrefetch(attachment: Attachment, operation: string): Promise<void> {
    try {
      // Per consumer (global = false), which is what RabbitMQ applies to quorum queues anyway;
      // it also applies to the consumers a resume creates later on this channel.
      await attachment.channel.prefetch(this.#prefetch, false);
    } catch (error) {
      throw translateAmqpError(error, { operation, closed: this.#deps.stopped() });
    }
  }

  async #consume(attachment: Attachment, handler: IntakeHandler, operation: string): Promise<void> {
    try {
      const { consumerTag } = await attachment.channel.consume(
        this.#deps.queue,
        (message) => this.#onMessage(attachment, handler, message),
        { noAck: false },
      );
      if (this.#attached === attachment) this.#tag = consumerTag;
    } catch (error) {
      throw translateAmqpError(error, { operation, closed: this.#deps.stopped() });
    }
  }

  #onMessage(attachment: Attachment, handler: IntakeHandler, message: ConsumeMessage | null): void {
    if (message === null) {
      this.#deps.log.warn('intake consumer cancelled by the broker', { queue: this.#deps.queue });
      if (this.#attached === attachment) this.#tag = undefined;
      return;
    }
    void this.#runHandler(handler, attachment.delivery(message));
  }

  async #runHandler(handler: IntakeHandler, delivery: AmqpIntakeDelivery): Promise<void> {
    try {
      await handler(delivery);
    } catch (error) {
      this.#deps.log.error('intake handler failed; requeueing its message', {
        error: error instanceof Error ? error.message : String(error),
        redelivered: delivery.redelivered,
      });
      if (delivery.settled) return;
      try {
        delivery.requeue();
      } catch (requeueError) {
        this.#deps.log.warn('could not requeue; the broker requeues when the channel closes', {
          error: String(requeueError),
        });
      }
    }
  }

  #assertNotStopped(operation: string): void {
    const stopped = this.#deps.stopped();
    if (stopped) throw busClosedError(operation, stopped);
  }

  #assertStarted(operation: string): void {
    if (this.#handler === undefined) {
      throw new AutomatError(
        ErrorCodes.ILLEGAL_STATE,
        `cannot ${operation} the intake before consumeIntake was called`,
      );
    }
  }
}
