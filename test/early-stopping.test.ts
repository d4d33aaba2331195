import { describe, expect, it } from 'vitest';
import { EarlyStopping } from '../src/policy/early-stopping.js';
import { TimeBudget } from '../src/policy/time-budget.js';

function run(values: (number | null)[], options: ConstructorParameters<typeof EarlyStopping>[0]) {
  const policy = new EarlyStopping(options);
  const stops = values.map((value, i) => policy.observe(i + 1, value).stop);
  return { policy, stopAt: stops.indexOf(true) + 1 };
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement (max mode)', () => {
    const { policy, stopAt } = run([0.7, 0.8, 0.79, 0.78], {
      mode: 'max',
      patience: 2,
      minDelta: 0,
    });
    expect(stopAt).toBe(4);
    expect(policy.best).toEqual({ epoch: 2, value: 0.8 });
  });

  it('treats lower as better in min mode', () => {
    const { policy, stopAt } = run([5, 4, 4.5, 3.9], { mode: 'min', patience: 2, minDelta: 0 });
    expect(stopAt).toBe(0);
    expect(policy.best).toEqual({ epoch: 4, value: 3.9 });
  });

  it('does not count an improvement of exactly min_delta', () => {
    const policy = new EarlyStopping({ mode: 'max', patience: 1, minDelta: 0.25 });
    policy.observe(1, 0.5);
    const verdict = policy.observe(2, 0.75);
    expect(verdict.counted).toBe(false);
    expect(verdict.newBest).toBe(true);
    expect(verdict.stop).toBe(true);
  });

  it('keeps patience running on small gains while still tracking the best value', () => {
    const { policy, stopAt } = run([1.0, 0.99, 0.985, 0.98], {
      mode: 'min',
      patience: 3,
      minDelta: 0.05,
    });
    expect(stopAt).toBe(4);
    expect(policy.best).toEqual({ epoch: 4, value: 0.98 });
  });

  it('counts a missing (NaN) metric as no improvement and never as best', () => {
    const { policy, stopAt } = run([0.6, null, null], { mode: 'max', patience: 2, minDelta: 0 });
    expect(stopAt).toBe(3);
    expect(policy.best).toEqual({ epoch: 1, value: 0.6 });
  });
});

describe('TimeBudget', () => {
  it('stops when the mean epoch would not fit before the deadline', () => {
    const budget = new TimeBudget({ budgetMs: 100, startedAt: 0 });
    budget.recordEpoch(30);
    expect(budget.fitsAnotherEpoch(30)).toBe(true);
    budget.recordEpoch(40);
    expect(budget.estimatedEpochMs).toBe(35);
    expect(budget.fitsAnotherEpoch(70)).toBe(false);
    expect(budget.remainingMs(70)).toBe(30);
  });
});
