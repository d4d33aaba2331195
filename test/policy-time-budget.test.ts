import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock/clock.js';
import { TimeBudget } from '../src/policy/time-budget.js';

describe('time budget', () => {
  it('stops before an epoch that cannot fit (the documented example)', () => {
    const clock = new ManualClock();
    const budget = new TimeBudget({ budgetMs: 100_000 });
    budget.start(clock.now());
    clock.advance(30_000);
    budget.recordEpoch(30_000);
    expect(budget.fitsAnotherEpoch(clock.now())).toBe(true);
    clock.advance(40_000);
    budget.recordEpoch(40_000);
    expect(budget.estimatedEpochMs).toBe(35_000);
    // 70 s spent + 35 s estimated = 105 s > 100 s.
    expect(budget.fitsAnotherEpoch(clock.now())).toBe(false);
    expect(budget.remainingMs(clock.now())).toBe(30_000);
  });

  it('lets an epoch that ends exactly on the budget fit', () => {
    const budget = new TimeBudget({ budgetMs: 100, startedAt: 0 });
    budget.recordEpoch(50);
    expect(budget.fitsAnotherEpoch(50)).toBe(true);
    expect(budget.fitsAnotherEpoch(51)).toBe(false);
  });

  it('before any epoch, fits while the budget is not spent', () => {
    const budget = new TimeBudget({ budgetMs: 100, startedAt: 0 });
    expect(budget.fitsAnotherEpoch(99)).toBe(true);
    expect(budget.fitsAnotherEpoch(100)).toBe(false);
    expect(budget.exhausted(100)).toBe(true);
  });

  it('charges only the time a worker runs, summed over attempts', () => {
    const clock = new ManualClock(1_000);
    const budget = new TimeBudget({ budgetMs: 60_000 });
    budget.start(clock.now());
    clock.advance(20_000);
    budget.stop(clock.now());
    clock.advance(500_000); // back-off, start-up: not charged
    expect(budget.spentMs(clock.now())).toBe(20_000);
    budget.start(clock.now());
    clock.advance(15_000);
    expect(budget.spentMs(clock.now())).toBe(35_000);
    expect(budget.remainingMs(clock.now())).toBe(25_000);
  });

  it("estimates from the current attempt's epochs, or from earlier ones until it has one", () => {
    const budget = new TimeBudget({ budgetMs: 1_000_000, startedAt: 0 });
    budget.recordEpoch(10_000);
    budget.recordEpoch(20_000);
    budget.stop(30_000);
    budget.start(40_000);
    expect(budget.estimatedEpochMs).toBe(15_000);
    budget.recordEpoch(40_000); // a halved batch trains slower
    expect(budget.estimatedEpochMs).toBe(40_000);
  });
});
