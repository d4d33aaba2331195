import type { StopReasonName, TrialStateName } from '../contracts/index.js';
import { IllegalStateError } from '../errors/index.js';

/**
 * The trial lifecycle, in one place.
 *
 * ```
 * queued ─► ingesting ─► launching ─► running ─► completed | early_stopped | cancelled | timed_out
 *   │           │          ▲ │ ▲ ▲        │
 *   │           │          └─┘ │ └────────┘ (a retry: a new attempt after a worker failure)
 *   └───────────┴──────────────┴──────────┴──► failed | cancelled | timed_out
 * ```
 *
 * `launching → launching` is the retry of an attempt whose worker failed before its `hello`;
 * `running → launching` the retry of one that failed after it. `launching → timed_out` ends a
 * trial whose budget ran out across attempts.
 *
 * Terminal states never change again. Every move goes through {@link TrialFsm.transition}, which
 * checks legality, records the reason and reports the change to one listener (the TrialActor
 * persists and publishes it).
 */
const LEGAL_MOVES: Readonly<Record<TrialStateName, readonly TrialStateName[]>> = {
  queued: ['ingesting', 'failed', 'cancelled'],
  ingesting: ['launching', 'failed', 'cancelled'],
  launching: ['launching', 'running', 'failed', 'cancelled', 'timed_out'],
  running: ['launching', 'completed', 'early_stopped', 'failed', 'cancelled', 'timed_out'],
  completed: [],
  early_stopped: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

/** The terminal state each stop reason leads to. */
export const TERMINAL_STATE_FOR: Readonly<Record<StopReasonName, TrialStateName>> = {
  completed: 'completed',
  early_stopped: 'early_stopped',
  budget_exhausted: 'timed_out',
  cancelled: 'cancelled',
  failed: 'failed',
  oom_exhausted: 'failed',
};

export interface TransitionRecord {
  from: TrialStateName | null;
  to: TrialStateName;
  reason: string;
  at: number;
}

export type TransitionListener = (change: TransitionRecord) => void;

export function isTerminal(state: TrialStateName): boolean {
  return LEGAL_MOVES[state].length === 0;
}

export function canTransition(from: TrialStateName, to: TrialStateName): boolean {
  return LEGAL_MOVES[from].includes(to);
}

export class TrialFsm {
  #state: TrialStateName | null = null;
  readonly history: TransitionRecord[] = [];

  constructor(
    private readonly now: () => number,
    private readonly onTransition: TransitionListener = () => undefined,
  ) {}

  get state(): TrialStateName | null {
    return this.#state;
  }

  get terminal(): boolean {
    return this.#state !== null && isTerminal(this.#state);
  }

  /**
   * Takes up a trial in the state its store records, without a move: an executor taking over a
   * trial from one that died goes on from there. Only before the first move.
   */
  restore(state: TrialStateName): void {
    if (this.#state !== null) throw new IllegalStateError(this.#state, state);
    this.#state = state;
  }

  /**
   * Moves to `to`, or throws an IllegalStateError naming the current state. The first call
   * must enter `queued`.
   */
  transition(to: TrialStateName, reason: string): TransitionRecord {
    const from = this.#state;
    const legal = from === null ? to === 'queued' : canTransition(from, to);
    if (!legal) throw new IllegalStateError(from ?? '(none)', to);

    const record: TransitionRecord = { from, to, reason, at: this.now() };
    this.#state = to;
    this.history.push(record);
    this.onTransition(record);
    return record;
  }
}
