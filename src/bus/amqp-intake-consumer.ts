import type { Channel, ConsumeMessage } from 'amqplib';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { translateAmqpError } from './amqp-errors.js';
import type { AmqpIntakeDelivery } from './amqp-intake-delivery.js';
import type { IntakeHandler, IntakeOptions } from './bus.js';
import { busClosedError, type CloseReason } from './close-reason.js';

export interface AmqpIntakeConsumerDeps {
  channel: Channel;
  queue: string;
  log: Logger;
  /** Wraps a broker message for the handler. */
  delivery: (message: ConsumeMessage) => AmqpIntakeDelivery;
  /** Why the consuming channel can no longer be used, if it cannot. */
  closed: () => CloseReason | undefined;
}

/**
 * The consumer of the intake queue on its own channel. Pausing cancels the broker consumer
 * (`basic.cancel`), so further messages stay ready in the queue, visible as its depth; resuming
 * consumes again with the same handler and prefetch. Deliveries handed out before a pause stay
 * valid: they are settled on the channel, not the consumer.
 */
export class AmqpIntakeConsumer {
  #handler: IntakeHandler | undefined;
  #tag: string | undefined;
  #paused = false;

  constructor(private readonly deps: AmqpIntakeConsumerDeps) {}

  get started(): boolean {
    return this.#handler !== undefined;
  }

  async start(handler: IntakeHandler, options: IntakeOptions): Promise<void> {
    const operation = `consume queue "${this.deps.queue}"`;
    this.#assertOpen(operation);
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
    try {
      // Per consumer (global = false), which is what RabbitMQ applies to quorum queues anyway;
      // it also applies to the consumers a resume creates later on this channel.
      await this.deps.channel.prefetch(options.prefetch, false);
    } catch (error) {
      throw translateAmqpError(error, { operation, closed: this.deps.closed() });
    }
    await this.#consume(handler, operation);
    this.#handler = handler;
    this.deps.log.info('consuming intake', { queue: this.deps.queue, prefetch: options.prefetch });
  }

  /** Stops deliveries until {@link resume}; resolves once the broker confirmed. Idempotent. */
  async pause(): Promise<void> {
    this.#assertStarted('pause');
    if (this.#paused) return;
    this.#paused = true;
    await this.cancel();
    this.deps.log.info('intake paused', { queue: this.deps.queue });
  }

  /** Consumes again after {@link pause}. Idempotent. */
  async resume(): Promise<void> {
    this.#assertStarted('resume');
    if (!this.#paused) return;
    await this.#consume(this.#handler as IntakeHandler, `resume queue "${this.deps.queue}"`);
    this.#paused = false;
    this.deps.log.info('intake resumed', { queue: this.deps.queue });
  }

  /** Cancels the broker consumer, if there is one; used by pause and by the bus's close. */
  async cancel(): Promise<void> {
    const tag = this.#tag;
    if (tag === undefined || this.deps.closed()) return;
    this.#tag = undefined;
    try {
      await this.deps.channel.cancel(tag);
    } catch (error) {
      this.deps.log.debug('ignored error while cancelling the intake consumer', {
        error: String(error),
      });
    }
  }

  async #consume(handler: IntakeHandler, operation: string): Promise<void> {
    this.#assertOpen(operation);
    try {
      const { consumerTag } = await this.deps.channel.consume(
        this.deps.queue,
        (message) => this.#onMessage(handler, message),
        { noAck: false },
      );
      this.#tag = consumerTag;
    } catch (error) {
      throw translateAmqpError(error, { operation, closed: this.deps.closed() });
    }
  }

  #onMessage(handler: IntakeHandler, message: ConsumeMessage | null): void {
    if (message === null) {
      this.deps.log.warn('intake consumer cancelled by the broker', { queue: this.deps.queue });
      this.#tag = undefined;
      return;
    }
    void this.#runHandler(handler, this.deps.delivery(message));
  }

  async #runHandler(handler: IntakeHandler, delivery: AmqpIntakeDelivery): Promise<void> {
    try {
      await handler(delivery);
    } catch (error) {
      this.deps.log.error('intake handler failed; requeueing its message', {
        error: error instanceof Error ? error.message : String(error),
        redelivered: delivery.redelivered,
      });
      if (delivery.settled) return;
      try {
        delivery.requeue();
      } catch (requeueError) {
        this.deps.log.warn('could not requeue; the broker requeues when the channel closes', {
          error: String(requeueError),
        });
      }
    }
  }

  #assertOpen(operation: string): void {
    const closed = this.deps.closed();
    if (closed) throw busClosedError(operation, closed);
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
