import { describe, expect, it } from 'vitest';
import type { BusHealth } from '../src/bus/bus.js';
import { BusHealthTracker } from '../src/bus/bus-health-tracker.js';
import { IllegalStateError } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';

const reconnecting: BusHealth = { status: 'reconnecting', since: 1, reason: 'gone', attempts: 0 };

describe('BusHealthTracker', () => {
  it('tells listeners of each change of status until they unsubscribe', () => {
    const tracker = new BusHealthTracker(silentLogger);
    const seen: string[] = [];
    const stop = tracker.listen((health) => seen.push(health.status));
    tracker.move(reconnecting);
    tracker.move({ status: 'connected' });
    stop();
    tracker.move({ status: 'closed', reason: 'bye' });
    expect(seen).toEqual(['reconnecting', 'connected']);
    expect(tracker.current).toEqual({ status: 'closed', reason: 'bye' });
  });

  it('updates the attempt count without telling listeners', () => {
    const tracker = new BusHealthTracker(silentLogger);
    tracker.move(reconnecting);
    const seen: BusHealth[] = [];
    tracker.listen((health) => seen.push(health));
    tracker.countAttempts(3);
    expect(tracker.current).toMatchObject({ status: 'reconnecting', attempts: 3 });
    expect(seen).toEqual([]);
  });

  it('refuses to leave closed, naming the current status', () => {
    const tracker = new BusHealthTracker(silentLogger);
    tracker.move({ status: 'closed', reason: 'bye' });
    expect(() => tracker.move({ status: 'connected' })).toThrow(IllegalStateError);
    expect(() => tracker.move(reconnecting)).toThrow(/cannot move from "closed" to "reconnecting"/);
  });

  it('keeps telling the other listeners when one throws', () => {
    const tracker = new BusHealthTracker(silentLogger);
    const seen: string[] = [];
    tracker.listen(() => {
      throw new Error('listener bug');
    });
    tracker.listen((health) => seen.push(health.status));
    tracker.move(reconnecting);
    expect(seen).toEqual(['reconnecting']);
  });
});
