import { Type, type Static } from '@sinclair/typebox';
import { envelope } from './common.js';
import { BestMetric } from './heartbeats.js';
import { PrimaryMetric, TaskType } from './trial-spec.js';

/**
 * The trial lifecycle. `queued → ingesting → launching → running` and then one terminal state;
 * `running → launching` and `launching → launching` are retries (a new attempt). The legal moves
 * live in `src/trial/trial-fsm.ts`.
 */
export const TRIAL_STATES = [
  'queued',
  'ingesting',
  'launching',
  'running',
  'completed',
  'early_stopped',
  'failed',
  'cancelled',
  'timed_out',
] as const;

export const STOP_REASONS = [
  'completed',
  'early_stopped',
  'budget_exhausted',
  'cancelled',
  'failed',
  'oom_exhausted',
] as const;

export const TrialState = Type.Union(
  TRIAL_STATES.map((s) => Type.Literal(s)),
  { description: `one of ${TRIAL_STATES.join(', ')}` },
);

export const StopReason = Type.Union(
  STOP_REASONS.map((s) => Type.Literal(s)),
  { description: `one of ${STOP_REASONS.join(', ')}` },
);

export const StateChangedSchema = Type.Object(
  {
    type: Type.Literal('trial.state_changed'),
    ...envelope,
    from: Type.Union([TrialState, Type.Null()], { description: 'null for the first state' }),
    to: TrialState,
    reason: Type.String(),
    stop_reason: Type.Optional(StopReason),
    error: Type.Optional(
      Type.Object({ name: Type.String(), code: Type.String(), message: Type.String() }),
    ),
    attempt: Type.Optional(
      Type.Integer({ minimum: 1, description: 'the attempt the trial is on after this move' }),
    ),
    // Present on a move to a terminal state: the best value so far, whatever the stop reason.
    best_metric: Type.Optional(BestMetric),
  },
  { $id: 'trial.state_changed', title: 'state_changed', additionalProperties: false },
);

export const PromotionCandidateSchema = Type.Object(
  {
    type: Type.Literal('trial.promotion_candidate'),
    ...envelope,
    task_type: TaskType,
    primary_metric: PrimaryMetric,
    mode: Type.Union([Type.Literal('max'), Type.Literal('min')], {
      description: '"max" when higher is better, "min" when lower is better',
    }),
    best_metric: BestMetric,
    checkpoint_uri: Type.Union([Type.String(), Type.Null()], {
      description: 'URI of the best epoch checkpoint, or null when no epoch finished',
    }),
    stop_reason: StopReason,
    epochs_completed: Type.Integer({ minimum: 0 }),
  },
  { $id: 'trial.promotion_candidate', title: 'promotion_candidate', additionalProperties: false },
);

/**
 * The executor halved a trial's batch after its worker ran out of memory; the next attempt
 * resumes from the last checkpoint at `batch_after`.
 */
export const BatchBackoffSchema = Type.Object(
  {
    type: Type.Literal('trial.batch_backoff'),
    ...envelope,
    attempt: Type.Integer({ minimum: 1, description: 'the attempt that ran out of memory' }),
    next_attempt: Type.Integer({ minimum: 2 }),
    batch_before: Type.Integer({ minimum: 1 }),
    batch_after: Type.Integer({ minimum: 1 }),
    min_batch_size: Type.Integer({ minimum: 1, description: 'the floor of the back-off' }),
    reason: Type.String({ description: 'how the out-of-memory condition was detected' }),
  },
  { $id: 'trial.batch_backoff', title: 'batch_backoff', additionalProperties: false },
);

/**
 * An executor took the trial over after the executor running it stopped renewing its lease
 * (it crashed or lost its database). The trial goes on from `state`: a trial that had a worker
 * launches a new attempt, resuming from its latest checkpoint when there is one.
 */
export const TakenOverSchema = Type.Object(
  {
    type: Type.Literal('trial.taken_over'),
    ...envelope,
    executor: Type.String({ description: 'the executor that now owns the trial' }),
    previous_executor: Type.Union([Type.String(), Type.Null()], {
      description: 'the executor whose lease lapsed; null when none was recorded',
    }),
    state: TrialState,
    attempt: Type.Integer({ minimum: 1, description: 'the attempt that was under way' }),
    resume_epoch: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'the epoch of the checkpoint the next attempt resumes from, if any',
    }),
    handed_over: Type.Optional(
      Type.Boolean({
        description:
          'true when the previous executor handed the trial over at a graceful shutdown, so ' +
          'its attempt does not count as a failure; false when it stopped renewing its lease',
      }),
    ),
  },
  { $id: 'trial.taken_over', title: 'taken_over', additionalProperties: false },
);

/**
 * The executor running the trial shut down gracefully and gave the trial up without ending it:
 * its worker stopped after an epoch (its checkpoint kept), the lease was released, and the next
 * executor to claim the trial resumes it from `resume_epoch` without counting a failure.
 */
export const HandedOverSchema = Type.Object(
  {
    type: Type.Literal('trial.handed_over'),
    ...envelope,
    executor: Type.String({ description: 'the executor that shut down and gave the trial up' }),
    state: TrialState,
    attempt: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'the attempt that stopped for the handover; null when none had launched',
    }),
    resume_epoch: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'the epoch of the latest checkpoint, which the next attempt resumes from',
    }),
    epochs_completed: Type.Integer({ minimum: 0 }),
    reason: Type.String({ description: 'why the trial was handed over, and how its worker ended' }),
  },
  { $id: 'trial.handed_over', title: 'handed_over', additionalProperties: false },
);

export const TrialEventSchema = Type.Union(
  [
    StateChangedSchema,
    PromotionCandidateSchema,
    BatchBackoffSchema,
    TakenOverSchema,
    HandedOverSchema,
  ],
  { $id: 'TrialEvent' },
);

export type TrialStateName = (typeof TRIAL_STATES)[number];
export type StopReasonName = (typeof STOP_REASONS)[number];
export type StateChangedEvent = Static<typeof StateChangedSchema>;
export type PromotionCandidateEvent = Static<typeof PromotionCandidateSchema>;
export type BatchBackoffEvent = Static<typeof BatchBackoffSchema>;
export type TakenOverEvent = Static<typeof TakenOverSchema>;
export type HandedOverEvent = Static<typeof HandedOverSchema>;
export type TrialEvent = Static<typeof TrialEventSchema>;
