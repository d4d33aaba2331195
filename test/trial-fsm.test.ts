import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '../src/errors/index.js';
import {
  canTransition,
  isTerminal,
  TrialFsm,
  type TransitionRecord,
} from '../src/trial/trial-fsm.js';

describe('TrialFsm', () => {
  it('walks the happy path and reports each change with its reason', () => {
    const seen: TransitionRecord[] = [];
    let now = 100;
    const fsm = new TrialFsm(
      () => now++,
      (change) => seen.push(change),
    );
    fsm.transition('queued', 'accepted');
    fsm.transition('ingesting', 'shards');
    fsm.transition('launching', 'attempt 1');
    fsm.transition('running', 'hello');
    fsm.transition('completed', 'done');
    expect(seen.map((c) => [c.from, c.to])).toEqual([
      [null, 'queued'],
      ['queued', 'ingesting'],
      ['ingesting', 'launching'],
      ['launching', 'running'],
      ['running', 'completed'],
    ]);
    expect(seen[4]?.reason).toBe('done');
    expect(seen[0]?.at).toBe(100);
    expect(fsm.terminal).toBe(true);
  });

  it('must start in queued', () => {
    const fsm = new TrialFsm(() => 0);
    expect(() => fsm.transition('running', 'skip')).toThrow(IllegalStateError);
  });

  it('throws an IllegalStateError naming the current state', () => {
    const fsm = new TrialFsm(() => 0);
    fsm.transition('queued', 'accepted');
    try {
      fsm.transition('completed', 'too early');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IllegalStateError);
      expect((error as IllegalStateError).current).toBe('queued');
      expect((error as Error).message).toBe('cannot move from "queued" to "completed"');
    }
    expect(fsm.state).toBe('queued');
  });

  it('never leaves a terminal state', () => {
    for (const terminal of [
      'completed',
      'early_stopped',
      'failed',
      'cancelled',
      'timed_out',
    ] as const) {
      expect(isTerminal(terminal)).toBe(true);
      expect(canTransition(terminal, 'running')).toBe(false);
      expect(canTransition(terminal, 'failed')).toBe(false);
    }
  });

  it('allows a retry from running back to launching', () => {
    expect(canTransition('running', 'launching')).toBe(true);
    expect(canTransition('queued', 'running')).toBe(false);
  });
});
