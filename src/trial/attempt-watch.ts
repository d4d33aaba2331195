import type { Logger } from '../log/logger.js';
import type { TrialPolicies } from './trial-policies.js';
import type { TrialSettings } from './trial-settings.js';
import type { TrialTimers } from './trial-timers.js';
import type { WorkerAttempt } from './worker-attempt.js';

/**
 * The timers that watch one worker attempt: its liveness deadlines, its share of the budget,
 * the grace after a stop request and, once it was killed, the wait for its exit. Each timer only
 * wakes the trial up; the checks here run against the policies and the clock at that moment.
 */
export class AttemptWatch {
  constructor(
    private readonly trialId: string,
    private readonly deps: { clock: { now(): number }; logger: Logger; settings: TrialSettings },
    private readonly timers: TrialTimers,
    private readonly policies: TrialPolicies,
  ) {}

  /** Schedules the next liveness check of `attempt` at its earliest deadline. */
  armLiveness(attempt: WorkerAttempt): void {
    if (!attempt.live) return;
    const now = this.deps.clock.now();
    const verdict = this.policies.liveness.check(now);
    const at = verdict.kind === 'alive' ? verdict.nextCheckAt : now;
    this.timers.set('liveness', at - now, { type: 'timer.liveness', attempt: attempt.number });
  }

  /** Schedules a budget check for when the remaining budget runs out. */
  armBudget(attempt: WorkerAttempt): void {
    if (!attempt.live) return;
    const remaining = this.policies.budget.remainingMs(this.deps.clock.now());
    this.timers.set('budget', remaining, { type: 'timer.budget', attempt: attempt.number });
  }

  /** Kills the worker of `attempt` if it is still there after the stop grace. */
  startGrace(attempt: WorkerAttempt): void {
    const message = { type: 'timer.grace' as const, attempt: attempt.number };
    this.timers.set('grace', this.deps.settings.stopGraceMs, message);
  }

  /** A liveness timer fired: re-arms while the worker is alive, kills it on a fault. */
  checkLiveness(attempt: WorkerAttempt): void {
    const verdict = this.policies.liveness.check(this.deps.clock.now());
    if (verdict.kind === 'alive') return this.armLiveness(attempt);
    attempt.killedFor = { fault: verdict.kind, message: verdict.message };
    this.kill(attempt, `${verdict.kind}: ${verdict.message}`);
  }

  /** A budget timer fired: true when the budget is spent, otherwise it is re-armed. */
  budgetSpent(attempt: WorkerAttempt): boolean {
    if (this.policies.budget.exhausted(this.deps.clock.now())) return true;
    this.armBudget(attempt);
    return false;
  }

  /** SIGKILL, then a deadline for the exit: a worker that never exits must not hang the trial. */
  kill(attempt: WorkerAttempt, why: string): void {
    this.deps.logger.warn('killing worker', {
      trialId: this.trialId,
      attempt: attempt.number,
      pid: attempt.session?.pid,
      why,
    });
    attempt.kill();
    this.timers.cancel('liveness');
    const message = { type: 'timer.exit_overdue' as const, attempt: attempt.number };
    this.timers.set('exit', this.deps.settings.stopGraceMs, message);
  }

  /** The attempt is over: none of its timers matter any more. */
  attemptOver(): void {
    for (const key of ['liveness', 'budget', 'grace', 'exit'] as const) this.timers.cancel(key);
  }
}
