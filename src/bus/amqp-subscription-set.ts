import type { ChannelModel } from 'amqplib';
import type { Logger } from '../log/logger.js';
import { AmqpSubscription } from './amqp-subscription.js';
import type { Subscription, SubscriptionHandler } from './bus.js';

/**
 * The bus's open subscriptions, kept so that a reconnection can open each again on the new
 * connection. A subscription leaves the set when its owner closes it.
 */
export class AmqpSubscriptionSet {
  readonly #exchange: string;
  readonly #log: Logger;
  readonly #open = new Set<AmqpSubscription>();

  constructor(exchange: string, log: Logger) {
    this.#exchange = exchange;
    this.#log = log;
  }

  /**
   * Registers a subscription and opens it on `connection`; without a connection (an outage) it
   * only registers it. When opening fails, `keep(error)` says whether it stays registered for the
   * next reconnection (the connection dropped meanwhile) or the error is the caller's.
   */
  async add(
    pattern: string,
    handler: SubscriptionHandler,
    connection: ChannelModel | undefined,
    keep: () => boolean,
  ): Promise<Subscription> {
    const exchange = this.#exchange;
    const subscription = new AmqpSubscription({ exchange, pattern, handler, log: this.#log });
    this.#open.add(subscription);
    try {
      if (connection) await subscription.open(connection);
    } catch (error) {
      if (!keep()) {
        this.#open.delete(subscription);
        throw error;
      }
    }
    return {
      close: () => {
        this.#open.delete(subscription);
        return subscription.close();
      },
    };
  }

  /** Opens every registered subscription that has no live channel on `connection`. */
  async openAll(connection: ChannelModel): Promise<void> {
    await Promise.all([...this.#open].map((s) => s.open(connection)));
  }

  async closeAll(): Promise<void> {
    const all = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(all.map((s) => s.close()));
  }
}
