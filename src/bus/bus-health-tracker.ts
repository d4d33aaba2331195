import { IllegalStateError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { BusHealth, BusHealthListener } from './bus.js';

type Status = BusHealth['status'];

/** The moves a bus's health may make; `closed` is final. */
const ALLOWED: Readonly<Record<Status, readonly Status[]>> = {
  connected: ['reconnecting', 'closed'],
  reconnecting: ['connected', 'closed'],
  closed: [],
};

/**
 * A bus's {@link BusHealth}, changed only through {@link BusHealthTracker.move}, which checks the
 * move, logs it and tells the listeners. A listener that throws is logged and does not stop the
 * others. The attempt count of `reconnecting` is updated in place without telling listeners:
 * they hear of changes of status, and read attempts from `current` when they care.
 */
export class BusHealthTracker {
  readonly #log: Logger;
  readonly #listeners = new Set<BusHealthListener>();
  #health: BusHealth = { status: 'connected' };

  constructor(log: Logger) {
    this.#log = log;
  }

  get current(): BusHealth {
    return this.#health;
  }

  /** Calls `listener` on every change of status; returns a function that removes it. */
  listen(listener: BusHealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Throws IllegalStateError, naming the current status, for a move {@link ALLOWED} forbids. */
  move(next: BusHealth): void {
    const from = this.#health.status;
    if (!ALLOWED[from].includes(next.status)) throw new IllegalStateError(from, next.status);
    this.#health = next;
    this.#log.debug('bus health changed', { from, to: next.status });
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch (error) {
        this.#log.error('bus health listener threw', { error: String(error) });
      }
    }
  }

  /** Records the number of attempts made so far in this outage; ignored unless reconnecting. */
  countAttempts(attempts: number): void {
    if (this.#health.status === 'reconnecting') this.#health = { ...this.#health, attempts };
  }
}
