import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../log/logger.js';
import { translateAmqpError } from './amqp-errors.js';
import type { Subscription, SubscriptionHandler } from './bus.js';

/**
 * A topic subscription on its own channel: a broker error here (say the exchange was deleted)
 * closes only this channel, never the one the intake consumer runs on.
 */
export class AmqpSubscription implements Subscription {
  readonly #channel: Channel;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(channel: Channel, log: Logger) {
    this.#channel = channel;
    this.#log = log;
    channel.on('error', (error: Error) => {
      this.#log.error('subscription channel failed', { error: error.message });
    });
    channel.on('close', () => {
      this.#closed = true;
    });
  }

  /** Declares an exclusive, auto-deleted queue bound to `pattern` and starts consuming it. */
  static async open(
    connection: ChannelModel,
    exchange: string,
    pattern: string,
    handler: SubscriptionHandler,
    log: Logger,
  ): Promise<AmqpSubscription> {
    const operation = `subscribe to "${pattern}" on exchange "${exchange}"`;
    const channel = await connection.createChannel().catch((error: unknown) => {
      throw translateAmqpError(error, { operation });
    });
    const subscription = new AmqpSubscription(channel, log.child({ pattern }));
    try {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, exchange, pattern);
      await channel.consume(queue, (message) => subscription.#deliver(handler, message), {
        noAck: true,
      });
    } catch (error) {
      await subscription.close();
      throw translateAmqpError(error, { operation });
    }
    return subscription;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    try {
      // Closing the channel cancels the consumer, and the auto-delete queue goes with it.
      await this.#channel.close();
    } catch (error) {
      this.#log.debug('subscription channel close failed', { error: String(error) });
    }
  }

  #deliver(handler: SubscriptionHandler, message: ConsumeMessage | null): void {
    if (message === null) {
      this.#log.warn('subscription cancelled by the broker');
      return;
    }
    const { routingKey } = message.fields;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.content.toString('utf8'));
    } catch {
      this.#log.warn('subscription dropped a message that is not JSON', {
        routingKey,
        bytes: message.content.length,
      });
      return;
    }
    try {
      handler(routingKey, parsed);
    } catch (error) {
      this.#log.error('subscription handler threw', { routingKey, error: String(error) });
    }
  }
}
