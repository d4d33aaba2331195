import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock/clock.js';
import { LivenessWatchdog, type LivenessOptions } from '../src/policy/liveness.js';

const options: LivenessOptions = {
  startupTimeoutMs: 120_000,
  heartbeatTimeoutMs: 60_000,
  progressFactor: 3,
  progressMinMs: 120_000,
  firstEpochTimeoutMs: 3_600_000,
};

function started(clock: ManualClock, overrides: Partial<LivenessOptions> = {}) {
  const watchdog = new LivenessWatchdog({ ...options, ...overrides });
  watchdog.launched(clock.now());
  return watchdog;
}

describe('liveness watchdog', () => {
  it('gives a launched worker startupTimeoutMs to say hello', () => {
    const clock = new ManualClock();
    const watchdog = started(clock);
    clock.advance(119_999);
    expect(watchdog.check(clock.now())).toEqual({ kind: 'alive', nextCheckAt: 120_000 });
    clock.advance(1);
    expect(watchdog.check(clock.now()).kind).toBe('startup_timeout');
  });

  it('kills a worker that is alive but silent after heartbeatTimeoutMs', () => {
    const clock = new ManualClock();
    const watchdog = started(clock);
    clock.advance(2_000);
    watchdog.hello(clock.now());
    clock.advance(30_000);
    watchdog.heard(clock.now()); // a progress beat
    clock.advance(59_999);
    expect(watchdog.check(clock.now())).toEqual({ kind: 'alive', nextCheckAt: 92_000 });
    clock.advance(1);
    const verdict = watchdog.check(clock.now());
    expect(verdict.kind).toBe('heartbeat_timeout');
  });

  it('kills a worker that beats but never finishes an epoch (progress watchdog)', () => {
    const clock = new ManualClock();
    const watchdog = started(clock, { progressMinMs: 1_000 });
    watchdog.hello(clock.now());
    clock.advance(10_000);
    watchdog.epoch(clock.now(), 10_000);
    // Next epoch due within max(1 s, 3 × 10 s) = 30 s, whatever the beats say.
    expect(watchdog.progressDeadlineMs).toBe(30_000);
    for (let t = 0; t < 29; t += 1) {
      clock.advance(1_000);
      watchdog.heard(clock.now());
    }
    expect(watchdog.check(clock.now()).kind).toBe('alive');
    clock.advance(1_000);
    watchdog.heard(clock.now());
    expect(watchdog.check(clock.now())).toMatchObject({ kind: 'progress_timeout' });
  });

  it('uses firstEpochTimeoutMs before any epoch and the floor for fast epochs', () => {
    const clock = new ManualClock();
    const watchdog = started(clock);
    expect(watchdog.progressDeadlineMs).toBe(3_600_000);
    watchdog.hello(clock.now());
    watchdog.epoch(clock.now(), 500);
    expect(watchdog.progressDeadlineMs).toBe(120_000);
  });

  it('keeps the longest epoch across attempts and checks nothing between them', () => {
    const clock = new ManualClock();
    const watchdog = started(clock, { progressMinMs: 0 });
    watchdog.hello(clock.now());
    watchdog.epoch(clock.now(), 50_000);
    watchdog.ended();
    clock.advance(10_000_000);
    expect(watchdog.check(clock.now())).toEqual({
      kind: 'alive',
      nextCheckAt: Number.POSITIVE_INFINITY,
    });
    watchdog.launched(clock.now());
    watchdog.hello(clock.now());
    expect(watchdog.progressDeadlineMs).toBe(150_000);
  });

  it('ignores beats that arrive when no attempt runs', () => {
    const watchdog = new LivenessWatchdog(options);
    watchdog.heard(5);
    watchdog.hello(5);
    watchdog.epoch(5, 100);
    expect(watchdog.check(1e12).kind).toBe('alive');
  });
});
