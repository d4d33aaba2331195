import type { Clock } from '../clock/clock.js';
import type { TrialTimerMessage } from './trial-ports.js';

export type TimerKey = 'liveness' | 'budget' | 'grace' | 'exit' | 'retry';

/**
 * A trial's timers, at most one per key: setting a key replaces its earlier timer. A timer only
 * posts its message into the trial's mailbox; the handler decides what it means then.
 */
export class TrialTimers {
  readonly #cancels = new Map<TimerKey, () => void>();

  constructor(
    private readonly clock: Clock,
    private readonly post: (message: TrialTimerMessage) => void,
  ) {}

  set(key: TimerKey, ms: number, message: TrialTimerMessage): void {
    this.cancel(key);
    const cancel = this.clock.setTimer(Math.max(0, ms), () => {
      if (this.#cancels.get(key) === cancel) this.#cancels.delete(key);
      this.post(message);
    });
    this.#cancels.set(key, cancel);
  }

  cancel(key: TimerKey): void {
    this.#cancels.get(key)?.();
    this.#cancels.delete(key);
  }

  clear(): void {
    for (const cancel of this.#cancels.values()) cancel();
    this.#cancels.clear();
  }
}
