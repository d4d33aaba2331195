import { describe, expect, it } from 'vitest';
import { resolveAmqpBusOptions } from '../src/bus/amqp-bus-options.js';
import { backoffDelay, type BackoffPolicy } from '../src/bus/reconnect-backoff.js';
import { ReconnectLoop, type ReconnectFailure } from '../src/bus/reconnect-loop.js';
import { ManualClock } from '../src/clock/clock.js';
import { ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';

const policy: BackoffPolicy = { initialDelayMs: 250, maxDelayMs: 10_000, jitter: 0.2 };

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap when the draw is 0', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(policy, attempt, 0));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('takes off at most `jitter` of the delay', () => {
    expect(backoffDelay(policy, 1, 0.5)).toBe(225);
    expect(backoffDelay(policy, 1, 0.999)).toBe(200);
    expect(backoffDelay(policy, 7, 0.999)).toBe(8002);
  });

  it('stays at the cap after thousands of attempts', () => {
    expect(backoffDelay(policy, 5000, 0)).toBe(10_000);
  });
});

describe('ReconnectLoop', () => {
  function loop(outcomes: boolean[]) {
    const clock = new ManualClock();
    const attempts: number[] = [];
    const failures: ReconnectFailure[] = [];
    const reconnect = new ReconnectLoop({
      clock,
      policy,
      random: () => 0,
      attempt: async (attempt) => {
        attempts.push(attempt);
        if (!outcomes[attempt - 1]) throw new Error(`attempt ${attempt} refused`);
      },
      onFailure: (failure) => failures.push(failure),
    });
    return { clock, attempts, failures, reconnect };
  }

  /** Fires due timers, then lets the attempt's promise settle. */
  async function advance(clock: ManualClock, ms: number): Promise<void> {
    clock.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  }

  it('waits the back-off before each attempt and stops after a success', async () => {
    const { clock, attempts, failures, reconnect } = loop([false, false, true]);
    reconnect.start();
    await advance(clock, 249);
    expect(attempts).toEqual([]);
    await advance(clock, 1);
    expect(attempts).toEqual([1]);
    expect(failures.map((f) => [f.attempt, f.nextDelayMs])).toEqual([[1, 500]]);
    await advance(clock, 500);
    await advance(clock, 1000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures.map((f) => f.nextDelayMs)).toEqual([500, 1000]);
    expect(reconnect.running).toBe(false);
    await advance(clock, 60_000);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('cancels the pending wait on stop()', async () => {
    const { clock, attempts, reconnect } = loop([false]);
    reconnect.start();
    await advance(clock, 250);
    reconnect.stop();
    await advance(clock, 60_000);
    expect(attempts).toEqual([1]);
  });

  it('ignores the failure of an attempt that was under way when stopped', async () => {
    const clock = new ManualClock();
    const failures: ReconnectFailure[] = [];
    let fail: (error: Error) => void = () => undefined;
    const reconnect = new ReconnectLoop({
      clock,
      policy,
      attempt: () => new Promise((_resolve, reject) => (fail = reject)),
      onFailure: (failure) => failures.push(failure),
    });
    reconnect.start();
    await advance(clock, 250);
    reconnect.stop();
    fail(new Error('refused'));
    await advance(clock, 60_000);
    expect(failures).toEqual([]);
    expect(reconnect.attempts).toBe(1);
  });

  it('counts attempts afresh when started for a new outage', async () => {
    const { clock, attempts, reconnect } = loop([true, true]);
    reconnect.start();
    await advance(clock, 250);
    reconnect.start();
    await advance(clock, 250);
    expect(attempts).toEqual([1, 1]);
  });
});

describe('reconnection options', () => {
  const base = { url: 'amqp://guest:guest@127.0.0.1:5672', logger: silentLogger };

  it('defaults to 250 ms doubling to 10 s with 20% jitter', () => {
    expect(resolveAmqpBusOptions(base).reconnect).toEqual(policy);
  });

  it('refuses a cap below the initial delay, naming both fields', () => {
    expect(() =>
      resolveAmqpBusOptions({ ...base, reconnectInitialDelayMs: 500, reconnectMaxDelayMs: 100 }),
    ).toThrow(/bus\.reconnectMaxDelayMs must be at least bus\.reconnectInitialDelayMs \(500\)/);
  });

  it('refuses a jitter outside 0 to 1 as CONFIG_INVALID', () => {
    expect(() => resolveAmqpBusOptions({ ...base, reconnectJitter: 1.5 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID }),
    );
  });
});
