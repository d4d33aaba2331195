import { systemClock, type Clock } from '../clock/clock.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type {
  BusHealth,
  BusHealthListener,
  Bus,
  DeadLetterReason,
  IntakeHandler,
  IntakeOptions,
  Subscription,
  SubscriptionHandler,
} from './bus.js';
import { DEFAULT_DELIVERY_LIMIT } from './bus-topology.js';
import { busClosedError, closeReason, type CloseReason } from './close-reason.js';
import { encodeMessage } from './encode-message.js';
import { MemoryIntakeDelivery, type QueuedMessage } from './memory-intake-delivery.js';
import { topicMatches } from './topic-pattern.js';

export interface MemoryBusOptions {
  /** Default {@link silentLogger}. */
  logger?: Logger;
  /** Default {@link systemClock}. */
  clock?: Clock;
  /** Deliveries of one intake message before it is dead-lettered, as on RabbitMQ. Default 5. */
  deliveryLimit?: number;
}

/** A message the memory bus dead-lettered, by a consumer's call or by the delivery limit. */
export interface MemoryDeadLetter {
  body: Buffer;
  reason: DeadLetterReason;
  /** Milliseconds since the epoch. */
  at: number;
}

interface MemorySubscription {
  pattern: string;
  handler: SubscriptionHandler;
}

/**
 * The bus inside one process, for `automat0 run` and tests without a broker. It keeps the AMQP
 * bus's observable behaviour: JSON on the wire (a message is serialised and parsed again, so
 * aliasing bugs show up), topic patterns with `*` and `#`, publish order per subscriber,
 * asynchronous delivery, prefetch, pause and resume, requeue on handler failure and a delivery
 * limit.
 */
export class MemoryBus implements Bus {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #deliveryLimit: number;
  readonly #subscriptions = new Set<MemorySubscription>();
  readonly #healthListeners = new Set<BusHealthListener>();
  readonly #queue: QueuedMessage[] = [];
  readonly #deadLetters: MemoryDeadLetter[] = [];
  #consumer: { handler: IntakeHandler; prefetch: number } | undefined;
  #paused = false;
  #unsettled = 0;
  #stopped: CloseReason | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MemoryBusOptions = {}) {
    this.#log = (options.logger ?? silentLogger).child({ component: 'memory-bus' });
    this.#clock = options.clock ?? systemClock;
    this.#deliveryLimit = options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  }

  /** Everything dead-lettered so far, oldest first. */
  get deadLetters(): readonly MemoryDeadLetter[] {
    return [...this.#deadLetters];
  }

  /** Intake messages waiting for a consumer. */
  get queued(): number {
    return this.#queue.length;
  }

  async publish(routingKey: string, message: object): Promise<void> {
    const operation = `publish "${routingKey}"`;
    this.#assertOpen(operation);
    const text = encodeMessage(message, operation).toString('utf8');
    for (const subscription of this.#subscriptions) {
      if (!topicMatches(subscription.pattern, routingKey)) continue;
      // Microtasks run in order, so each subscriber sees messages in publish order.
      queueMicrotask(() => this.#deliver(subscription, routingKey, text));
    }
  }

  async submit(message: object | Buffer): Promise<void> {
    const operation = 'submit to the intake queue';
    this.#assertOpen(operation);
    const body = Buffer.isBuffer(message)
      ? Buffer.from(message)
      : encodeMessage(message, operation);
    this.#queue.push({ body, deliveries: 0 });
    this.#pump();
  }

  async consumeIntake(handler: IntakeHandler, options: IntakeOptions): Promise<void> {
    this.#assertOpen('consume the intake queue');
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1) {
      throw new AutomatError(
        ErrorCodes.CONFIG_INVALID,
        `prefetch must be an integer of at least 1, got ${options.prefetch}`,
      );
    }
    if (this.#consumer) {
      throw new AutomatError(
        ErrorCodes.ILLEGAL_STATE,
        'consumeIntake was already called on this bus',
      );
    }
    this.#consumer = { handler, prefetch: options.prefetch };
    this.#pump();
  }

  async pauseIntake(): Promise<void> {
    this.#assertConsuming('pause');
    this.#paused = true;
  }

  async resumeIntake(): Promise<void> {
    this.#assertConsuming('resume');
    this.#paused = false;
    this.#pump();
  }

  async subscribe(pattern: string, handler: SubscriptionHandler): Promise<Subscription> {
    this.#assertOpen(`subscribe to "${pattern}"`);
    const subscription = { pattern, handler };
    this.#subscriptions.add(subscription);
    return {
      close: async () => {
        this.#subscriptions.delete(subscription);
      },
    };
  }

  health(): BusHealth {
    return this.#stopped
      ? { status: 'closed', reason: this.#stopped.message }
      : { status: 'connected' };
  }

  onHealthChange(listener: BusHealthListener): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const why = new Error('closed by the client: MemoryBus.close() was called');
    this.#stopped = closeReason('memory bus', this.#clock.now(), why);
    this.#consumer = undefined;
    this.#subscriptions.clear();
    for (const listener of this.#healthListeners) listener(this.health());
    this.#healthListeners.clear();
    this.#log.info('bus closed', { queued: this.#queue.length, unsettled: this.#unsettled });
  }

  #assertOpen(operation: string): void {
    if (this.#stopped) throw busClosedError(operation, this.#stopped);
  }

  #assertConsuming(operation: string): void {
    this.#assertOpen(`${operation} the intake`);
    if (!this.#consumer) {
      throw new AutomatError(
        ErrorCodes.ILLEGAL_STATE,
        `cannot ${operation} the intake before consumeIntake was called`,
      );
    }
  }

  #deliver(subscription: MemorySubscription, routingKey: string, text: string): void {
    if (!this.#subscriptions.has(subscription)) return;
    try {
      subscription.handler(routingKey, JSON.parse(text));
    } catch (error) {
      this.#log.error('subscription handler threw', { routingKey, error: String(error) });
    }
  }

  /** Hands queued messages to the consumer while it has prefetch room. */
  #pump(): void {
    while (this.#consumer && !this.#paused && this.#unsettled < this.#consumer.prefetch) {
      const next = this.#queue.shift();
      if (!next) return;
      next.deliveries += 1;
      if (next.deliveries > this.#deliveryLimit) {
        this.#deadLetter(next.body, {
          code: 'delivery_limit',
          message: `delivered ${this.#deliveryLimit} times without being settled`,
        });
        continue;
      }
      this.#unsettled += 1;
      this.#dispatch(this.#consumer.handler, next);
    }
  }

  #dispatch(handler: IntakeHandler, message: QueuedMessage): void {
    const delivery = new MemoryIntakeDelivery(message, {
      log: this.#log,
      closed: () => this.#stopped,
      settle: (outcome, reason) => this.#settle(message, outcome, reason),
    });
    queueMicrotask(() => {
      handler(delivery).catch((error: unknown) => {
        this.#log.error('intake handler failed; requeueing its message', { error: String(error) });
        if (!delivery.settled && !this.#stopped) delivery.requeue();
      });
    });
  }

  #settle(
    message: QueuedMessage,
    outcome: 'ack' | 'dead-letter' | 'requeue',
    reason?: DeadLetterReason,
  ): void {
    this.#unsettled -= 1;
    if (outcome === 'dead-letter' && reason) this.#deadLetter(message.body, reason);
    if (outcome === 'requeue') this.#queue.unshift(message);
    this.#pump();
  }

  #deadLetter(body: Buffer, reason: DeadLetterReason): void {
    this.#deadLetters.push({ body, reason: { ...reason }, at: this.#clock.now() });
    this.#log.warn('intake message dead-lettered', { code: reason.code, field: reason.field });
  }
}
