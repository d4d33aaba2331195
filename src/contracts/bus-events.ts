import { Type, type Static } from '@sinclair/typebox';
import { envelope } from './common.js';
import { BestMetric } from './heartbeats.js';
import { PrimaryMetric, TaskType } from './trial-spec.js';

/**
 * The trial lifecycle. `queued → ingesting → launching → running` and then one terminal state;
 * `running → launching` is a retry. The legal moves live in `src/trial/trial-fsm.ts`.
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

export const TrialEventSchema = Type.Union([StateChangedSchema, PromotionCandidateSchema], {
  $id: 'TrialEvent',
});

export type TrialStateName = (typeof TRIAL_STATES)[number];
export type StopReasonName = (typeof STOP_REASONS)[number];
export type StateChangedEvent = Static<typeof StateChangedSchema>;
export type PromotionCandidateEvent = Static<typeof PromotionCandidateSchema>;
export type TrialEvent = Static<typeof TrialEventSchema>;
