import { describe, expect, it } from 'vitest';
import { EarlyStopping, type EarlyStoppingOptions } from '../src/policy/early-stopping.js';

/**
 * Observes `values` as epochs 1, 2, … until a verdict says stop, as the executor would; returns
 * the verdicts and the epoch that stopped (0 for none).
 */
function run(values: (number | null)[], options: EarlyStoppingOptions) {
  const policy = new EarlyStopping(options);
  const verdicts = [];
  for (const [i, value] of values.entries()) {
    const verdict = policy.observe(i + 1, value);
    verdicts.push(verdict);
    if (verdict.stop) break;
  }
  return { policy, verdicts, stopAt: verdicts.findIndex((v) => v.stop) + 1 };
}

describe('early stopping: plateau with noise', () => {
  // A curve that climbs, then wobbles by ±0.002 around 0.85.
  const noisyPlateau = [0.7, 0.8, 0.851, 0.849, 0.852, 0.848, 0.853, 0.85, 0.854, 0.849];

  it('fires on the plateau when min_delta is above the noise', () => {
    const { policy, stopAt } = run(noisyPlateau, { mode: 'max', patience: 3, minDelta: 0.01 });
    // The reference stays at 0.851 (epoch 3): no later epoch beats it by more than 0.01.
    expect(stopAt).toBe(6);
    expect(policy.best).toEqual({ epoch: 5, value: 0.852 });
  });

  it('never fires when min_delta is 0, since noise keeps setting new records', () => {
    const { stopAt } = run(noisyPlateau, { mode: 'max', patience: 3, minDelta: 0 });
    expect(stopAt).toBe(0);
  });

  it('is not fooled by one lucky epoch in min mode', () => {
    // One spike down (0.60) counts and resets patience once; the plateau after it stops the run.
    const losses = [1.0, 0.7, 0.69, 0.6, 0.61, 0.605, 0.62];
    const { stopAt, policy } = run(losses, { mode: 'min', patience: 3, minDelta: 0.02 });
    expect(stopAt).toBe(7);
    expect(policy.best).toEqual({ epoch: 4, value: 0.6 });
  });
});

describe('early stopping: min_delta boundaries', () => {
  it('does not count an improvement of exactly min_delta (max mode)', () => {
    const { verdicts } = run([0.5, 0.75], { mode: 'max', patience: 1, minDelta: 0.25 });
    expect(verdicts[1]).toMatchObject({ counted: false, newBest: true, wait: 1, stop: true });
  });

  it('does not count an improvement of exactly min_delta (min mode), but counts a bit more', () => {
    const exact = run([1.0, 0.5], { mode: 'min', patience: 2, minDelta: 0.5 });
    expect(exact.verdicts[1]).toMatchObject({ counted: false, wait: 1 });
    const more = run([1.0, 0.4375], { mode: 'min', patience: 2, minDelta: 0.5 });
    expect(more.verdicts[1]).toMatchObject({ counted: true, wait: 0 });
  });

  it('measures against the reference, not the best, so small gains cannot add up', () => {
    // 0.99, 0.985, 0.98 each become the best, but none is 0.05 below the reference 1.0.
    const { policy, stopAt } = run([1.0, 0.99, 0.985, 0.98], {
      mode: 'min',
      patience: 3,
      minDelta: 0.05,
    });
    expect(stopAt).toBe(4);
    expect(policy.best).toEqual({ epoch: 4, value: 0.98 });
  });
});

describe('early stopping: NaN, infinite and missing metrics', () => {
  it('counts NaN, Infinity and null as epochs without improvement, never as best', () => {
    const { policy, verdicts, stopAt } = run([0.6, Number.NaN, Number.POSITIVE_INFINITY, null], {
      mode: 'max',
      patience: 3,
      minDelta: 0,
    });
    expect(verdicts.map((v) => v.usable)).toEqual([true, false, false, false]);
    expect(stopAt).toBe(4);
    expect(policy.best).toEqual({ epoch: 1, value: 0.6 });
  });

  it('reports no best at all when every epoch is NaN', () => {
    const { policy, stopAt } = run([null, null], { mode: 'min', patience: 2, minDelta: 0 });
    expect(stopAt).toBe(2);
    expect(policy.best).toBeNull();
  });

  it('lets a usable epoch after NaN ones count and reset patience', () => {
    const { verdicts } = run([null, null, 0.4], { mode: 'max', patience: 3, minDelta: 0 });
    expect(verdicts[2]).toMatchObject({ counted: true, wait: 0, stop: false });
  });
});

describe('early stopping: warm-up and baseline', () => {
  it('ignores warm-up epochs for patience but still tracks them as best', () => {
    const { verdicts, policy, stopAt } = run([0.9, 0.5, 0.6, 0.6, 0.6], {
      mode: 'max',
      patience: 2,
      minDelta: 0,
      warmupEpochs: 2,
    });
    expect(verdicts.slice(0, 2).map((v) => v.warmup)).toEqual([true, true]);
    expect(verdicts.slice(0, 2).every((v) => v.wait === 0 && !v.stop)).toBe(true);
    // Epoch 3 is the first to count; 4 and 5 use up patience 2.
    expect(verdicts[2]).toMatchObject({ counted: true, wait: 0 });
    expect(stopAt).toBe(5);
    expect(policy.best).toEqual({ epoch: 1, value: 0.9 });
  });

  it('stops a run that never beats the baseline, reporting its best anyway', () => {
    const { policy, stopAt } = run([0.85, 0.88, 0.89], {
      mode: 'max',
      patience: 3,
      minDelta: 0,
      baseline: 0.9,
    });
    expect(stopAt).toBe(3);
    expect(policy.best).toEqual({ epoch: 3, value: 0.89 });
  });

  it('counts the first epoch that beats the baseline by more than min_delta', () => {
    const { verdicts } = run([0.85, 0.95], {
      mode: 'max',
      patience: 3,
      minDelta: 0.01,
      baseline: 0.9,
    });
    expect(verdicts.map((v) => v.counted)).toEqual([false, true]);
  });
});

describe('early stopping: rewinding for a retry', () => {
  it('replays to the checkpoint epoch, as if later epochs never happened', () => {
    const options: EarlyStoppingOptions = { mode: 'max', patience: 2, minDelta: 0 };
    const policy = new EarlyStopping(options);
    [0.5, 0.6, 0.9, 0.4].forEach((value, i) => policy.observe(i + 1, value));
    policy.rewindTo(2);
    expect(policy.best).toEqual({ epoch: 2, value: 0.6 });
    expect(policy.lastEpoch).toBe(2);
    expect(policy.observe(3, 0.55)).toMatchObject({ wait: 1, stop: false });
  });

  it('replaces the history when an epoch is observed again', () => {
    const policy = new EarlyStopping({ mode: 'min', patience: 1, minDelta: 0 });
    policy.observe(1, 1.0);
    policy.observe(2, 2.0);
    expect(policy.observe(2, 0.5)).toMatchObject({ counted: true, stop: false });
    expect(policy.best).toEqual({ epoch: 2, value: 0.5 });
  });
});

describe('early stopping: the worked examples of docs/policies.md', () => {
  it('min mode, patience 3, min_delta 0.05, with a NaN epoch', () => {
    const { policy, verdicts } = run([1.0, 0.99, Number.NaN, 0.98], {
      mode: 'min',
      patience: 3,
      minDelta: 0.05,
    });
    expect(verdicts.map((v) => [v.counted, v.wait, v.stop])).toEqual([
      [true, 0, false],
      [false, 1, false],
      [false, 2, false],
      [false, 3, true],
    ]);
    expect(policy.best).toEqual({ epoch: 4, value: 0.98 });
  });

  it('max mode with warm-up 1 and baseline 0.80', () => {
    const { policy, verdicts } = run([0.85, 0.79, 0.82, 0.82, 0.81], {
      mode: 'max',
      patience: 2,
      minDelta: 0,
      warmupEpochs: 1,
      baseline: 0.8,
    });
    expect(verdicts.map((v) => [v.counted, v.wait, v.stop])).toEqual([
      [false, 0, false],
      [false, 1, false],
      [true, 0, false],
      [false, 1, false],
      [false, 2, true],
    ]);
    expect(policy.best).toEqual({ epoch: 1, value: 0.85 });
  });
});
