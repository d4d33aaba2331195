import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../log/logger.js';
import { translateAmqpError } from './amqp-errors.js';
import type { Subscription, SubscriptionHandler } from './bus.js';

export interface AmqpSubscriptionSpec {
  exchange: string;
  pattern: string;
  handler: SubscriptionHandler;
  log: Logger;
}

/**
 * A topic subscription on its own channel: a broker error here (say the exchange was deleted)
 * closes only this channel, never the one the intake consumer runs on.
 *
 * Its queue is exclusive and auto-deleted, so it dies with the connection. The subscription
 * itself outlives that: after a reconnection the bus calls {@link AmqpSubscription.open} again,
 * which declares a fresh queue with the same binding and handler. Messages published while no
 * queue was bound are not delivered.
 */
export class AmqpSubscription implements Subscription {
  readonly #spec: AmqpSubscriptionSpec;
  #channel: Channel | undefined;
  #closing: Promise<void> | undefined;

  constructor(spec: AmqpSubscriptionSpec) {
    this.#spec = { ...spec, log: spec.log.child({ pattern: spec.pattern }) };
  }

  /**
   * Declares an exclusive, auto-deleted queue bound to the pattern on a new channel of
   * `connection` and starts consuming it. Does nothing while a channel is open or after close().
   */
  async open(connection: ChannelModel): Promise<void> {
    if (this.#closing || this.#channel) return;
    const { exchange, pattern, handler } = this.#spec;
    const operation = `subscribe to "${pattern}" on exchange "${exchange}"`;
    const channel = await connection.createChannel().catch((error: unknown) => {
      throw translateAmqpError(error, { operation });
    });
    this.#watch(channel);
    this.#channel = channel;
    try {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, exchange, pattern);
      await channel.consume(queue, (message) => this.#deliver(handler, message), {
        noAck: true,
      });
    } catch (error) {
      await this.#closeChannel();
      throw translateAmqpError(error, { operation });
    }
    // close() may have come while the queue was being declared.
    if (this.#closing) await this.#closeChannel();
  }

  /** Stops delivery for good and removes the queue. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#closeChannel();
    return this.#closing;
  }

  async #closeChannel(): Promise<void> {
    const channel = this.#channel;
    this.#channel = undefined;
    if (!channel) return;
    try {
      // Closing the channel cancels the consumer, and the auto-delete queue goes with it.
      await channel.close();
    } catch (error) {
      this.#spec.log.debug('subscription channel close failed', { error: String(error) });
    }
  }

  #watch(channel: Channel): void {
    channel.on('error', (error: Error) => {
      this.#spec.log.error('subscription channel failed', { error: error.message });
    });
    channel.on('close', () => {
      if (this.#channel === channel) this.#channel = undefined;
    });
  }

  #deliver(handler: SubscriptionHandler, message: ConsumeMessage | null): void {
    if (message === null) {
      this.#spec.log.warn('subscription cancelled by the broker');
      return;
    }
    const { routingKey } = message.fields;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.content.toString('utf8'));
    } catch {
      this.#spec.log.warn('subscription dropped a message that is not JSON', {
        routingKey,
        bytes: message.content.length,
      });
      return;
    }
    try {
      handler(routingKey, parsed);
    } catch (error) {
      this.#spec.log.error('subscription handler threw', { routingKey, error: String(error) });
    }
  }
}
