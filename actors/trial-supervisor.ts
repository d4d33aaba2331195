import { dispatch, spawn, type Ref } from 'nact';
import type { TrialStateName } from '../src/contracts/index.js';
import type { Logger } from '../src/log/logger.js';
import type { ResolvedTrial } from '../src/trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../src/trial/trial-outcome.js';
import type { TrialMessage } from '../src/trial/trial-ports.js';
import type { TrialTakeover } from '../src/trial/trial-takeover.js';
import { spawnTrialActor, type TrialActorDeps } from './trial-actor.js';

export interface CancelAnswer {
  trialId: string;
  accepted: boolean;
  message: string;
}

export interface SupervisorStats {
  running: number;
  waiting: number;
  concurrency: number;
}

export type TrialSupervisorMessage =
  | {
      type: 'trial.submitted';
      trial: ResolvedTrial;
      /** Set for a trial taken over from another executor. */
      takeover?: TrialTakeover;
      /**
       * Set for a trial cancelled before it arrived: it is accepted, then ends cancelled with
       * this reason at once, without waiting for a slot, ingesting or starting a worker.
       */
      cancelReason?: string;
      done: (outcome: TrialOutcome) => void;
    }
  | { type: 'trial.finished'; outcome: TrialOutcome }
  | {
      type: 'trial.cancel_requested';
      trialId: string;
      reason: string;
      reply: (a: CancelAnswer) => void;
    }
  | { type: 'trial.abandon_requested'; trialId: string; reason: string }
  /** The executor shuts down gracefully: hand the trial over to the next executor. */
  | { type: 'trial.handover_requested'; trialId: string; executor: string; reason: string }
  | { type: 'supervisor.stats'; reply: (stats: SupervisorStats) => void };

interface Entry {
  ref: Ref<TrialMessage>;
  done: (outcome: TrialOutcome) => void;
  started: boolean;
}

interface SupervisorState {
  entries: Map<string, Entry>;
  waiting: string[];
  running: number;
  finished: Map<string, TrialStateName>;
}

/**
 * Owns one TrialActor per trial and runs at most `concurrency` of them at once; the rest wait,
 * accepted and recorded as `queued`, in arrival order. A finished trial's actor is stopped and
 * the next waiting one starts.
 */
export function spawnTrialSupervisor(
  parent: Ref<unknown>,
  options: { concurrency: number; deps: TrialActorDeps; logger: Logger },
): Ref<TrialSupervisorMessage> {
  const { concurrency, deps, logger } = options;

  const startWaiting = (state: SupervisorState) => {
    while (state.running < concurrency && state.waiting.length > 0) {
      const entry = state.entries.get(state.waiting.shift() as string);
      if (!entry) continue;
      entry.started = true;
      state.running += 1;
      dispatch(entry.ref, { type: 'trial.start' });
    }
  };

  const self: Ref<TrialSupervisorMessage> = spawn(
    parent,
    (state: SupervisorState, msg: TrialSupervisorMessage) => {
      switch (msg.type) {
        case 'trial.submitted': {
          const trialId = msg.trial.spec.trial_id;
          const ref = spawnTrialActor(self, msg.trial, deps, (outcome) =>
            dispatch(self, { type: 'trial.finished', outcome }),
          );
          state.entries.set(trialId, { ref, done: msg.done, started: false });
          dispatch(
            ref,
            msg.takeover
              ? { type: 'trial.adopt', takeover: msg.takeover }
              : { type: 'trial.accept' },
          );
          if (msg.cancelReason !== undefined) {
            dispatch(ref, { type: 'trial.cancel', reason: msg.cancelReason });
            return state;
          }
          state.waiting.push(trialId);
          startWaiting(state);
          return state;
        }
        case 'trial.finished': {
          const { outcome } = msg;
          const entry = state.entries.get(outcome.trialId);
          state.entries.delete(outcome.trialId);
          // A trial handed over has not ended: another executor goes on with it.
          if (!outcome.handedOver) state.finished.set(outcome.trialId, outcome.state);
          if (entry?.started) state.running -= 1;
          state.waiting = state.waiting.filter((id) => id !== outcome.trialId);
          const done = outcome.handedOver ? 'trial left for the next executor' : 'trial finished';
          logger.info(done, { trialId: outcome.trialId, state: outcome.state });
          entry?.done(outcome);
          startWaiting(state);
          return state;
        }
        case 'trial.cancel_requested':
          msg.reply(cancel(state, msg.trialId, msg.reason));
          return state;
        case 'trial.abandon_requested': {
          const entry = state.entries.get(msg.trialId);
          if (entry) dispatch(entry.ref, { type: 'trial.abandon', reason: msg.reason });
          return state;
        }
        case 'trial.handover_requested': {
          const entry = state.entries.get(msg.trialId);
          const { executor, reason } = msg;
          if (entry) dispatch(entry.ref, { type: 'trial.hand_over', executor, reason });
          return state;
        }
        case 'supervisor.stats':
          msg.reply({ running: state.running, waiting: state.waiting.length, concurrency });
          return state;
      }
    },
    'trial-supervisor',
    {
      initialState: { entries: new Map(), waiting: [], running: 0, finished: new Map() },
    },
  );
  return self;
}

function cancel(state: SupervisorState, trialId: string, reason: string): CancelAnswer {
  const entry = state.entries.get(trialId);
  if (entry) {
    dispatch(entry.ref, { type: 'trial.cancel', reason });
    return {
      trialId,
      accepted: true,
      message: 'cancel sent; the trial stops after its current epoch',
    };
  }
  const ended = state.finished.get(trialId);
  if (ended) return { trialId, accepted: false, message: `trial already ended (${ended})` };
  return { trialId, accepted: false, message: 'no such trial on this executor' };
}
