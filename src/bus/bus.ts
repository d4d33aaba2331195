/**
 * The message bus as the executor sees it. Implementations: {@link AmqpBus} (RabbitMQ) for
 * `automat0 serve`, {@link MemoryBus} (in process) for `automat0 run`. No broker client types
 * appear here, so callers cannot come to depend on one.
 */
export { eventKey, heartbeatKey, EVENTS_PATTERN, HEARTBEATS_PATTERN } from './routing-keys.js';

/** Why a consumer refused an intake message; travels as `x-automat-error-*` headers. */
export interface DeadLetterReason {
  /** A stable code from the error registry, e.g. `AUTOMAT_E_INVALID_MESSAGE`. */
  code: string;
  /** Dotted path of the offending field, when one is to blame. */
  field?: string;
  message: string;
}

/** One message from the intake queue. Settle it exactly once: `ack` or `deadLetter`. */
export interface IntakeDelivery {
  /** The message exactly as the planner published it. */
  body: Buffer;
  /** True when the broker delivered this message before (a consumer died holding it). */
  redelivered: boolean;
  /** Removes the message from the queue. Throws BUS_CLOSED if the bus is gone. */
  ack(): void;
  /**
   * Publishes the original body unchanged, with the reason in headers, to the dead-letter
   * exchange, waits for the broker's confirm and only then acks the original: a failure on the
   * way leaves the original in the queue rather than losing it.
   */
  deadLetter(reason: DeadLetterReason): Promise<void>;
}

export type IntakeHandler = (delivery: IntakeDelivery) => Promise<void>;

export interface IntakeOptions {
  /** Most intake messages delivered and not yet settled at once; an integer of at least 1. */
  prefetch: number;
}

/**
 * How the bus's connection is doing. `reconnecting`: the broker went away and the bus is trying
 * again with back-off; meanwhile publishes fail fast with BUS_UNAVAILABLE. `closed`: close() was
 * called, or the bus gave up; nothing works any more.
 */
export type BusHealth =
  | { status: 'connected' }
  | { status: 'reconnecting'; since: number; reason: string; attempts: number }
  | { status: 'closed'; reason: string };

export type BusHealthListener = (health: BusHealth) => void;

export type SubscriptionHandler = (routingKey: string, message: unknown) => void;

export interface Subscription {
  /** Stops delivery and removes the subscription's queue. Idempotent. */
  close(): Promise<void>;
}

export interface Bus {
  /** Publishes to the topic exchange; resolves once the broker confirmed. */
  publish(routingKey: string, message: object): Promise<void>;
  /**
   * Delivers intake messages (raw bytes) with at most `prefetch` unsettled. A handler that
   * rejects before settling its delivery gets it requeued; after the queue's delivery limit the
   * broker dead-letters it. Call once per bus.
   */
  consumeIntake(handler: IntakeHandler, options: IntakeOptions): Promise<void>;
  /**
   * Stops intake deliveries until {@link resumeIntake}; further messages stay in the queue.
   * Resolves once no new delivery can arrive. Deliveries already handed out can still be
   * settled. Idempotent; ILLEGAL_STATE before `consumeIntake`.
   */
  pauseIntake(): Promise<void>;
  /** Delivers intake messages again, with the same handler and prefetch. Idempotent. */
  resumeIntake(): Promise<void>;
  /**
   * Publishes a TrialSpec (already serialised or an object) to the intake queue; resolves once
   * the broker confirmed it and a queue took it.
   */
  submit(message: object | Buffer): Promise<void>;
  /**
   * For consumers such as tests, the smoke and the CLI: binds a fresh exclusive queue to the
   * topic `pattern` (`*` one word, `#` any number) and hands each message, parsed, to `handler`
   * in publish order.
   */
  subscribe(pattern: string, handler: SubscriptionHandler): Promise<Subscription>;
  /** The connection's health now. */
  health(): BusHealth;
  /** Calls `listener` on every change of health; returns a function that removes it. */
  onHealthChange(listener: BusHealthListener): () => void;
  /**
   * Stops consuming, waits for unconfirmed publishes, then closes. Idempotent: every call returns
   * the same promise. Unsettled intake deliveries go back to the queue.
   */
  close(): Promise<void>;
}
