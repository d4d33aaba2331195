import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, TrialId } from './common.js';
import { TrialState } from './bus-events.js';

/**
 * Commands a planner sends to the executors on the control queue (`automat.control`), and the
 * answer an executor publishes for each on the topic exchange. See docs/generation.md#cancel.
 */

const CommandId = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'a non-empty string of at most 128 characters that the answer echoes',
});

/**
 * Stop a trial cleanly: its current epoch finishes and is checkpointed, then it ends cancelled.
 * A trial whose spec no executor has taken yet ends cancelled as soon as one takes it.
 */
export const PlannerCancelSchema = Type.Object(
  {
    type: Type.Literal('planner.cancel'),
    trial_id: TrialId,
    command_id: Type.Optional(CommandId),
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'a non-empty string of at most 1024 characters, recorded with the stop',
      }),
    ),
    ts: Type.Optional(Timestamp),
  },
  {
    $id: 'planner.cancel',
    title: 'cancel',
    description:
      'Ask the executor running trial_id to stop it after its current epoch; a trial not ' +
      'received yet ends cancelled when it arrives.',
    additionalProperties: false,
  },
);

export const PlannerCommandSchema = Type.Union([PlannerCancelSchema], { $id: 'PlannerCommand' });

/**
 * An executor's answer to one command, on `automat.answers.<trial_id>`. `accepted: false` is an
 * answer, not a failure: the trial already ended or runs elsewhere, and `message` says which.
 * `accepted: true` with `state: null` means no executor has received the trial yet (its spec
 * waits in the intake queue): the cancel is kept, and the trial ends cancelled when it arrives.
 */
export const CommandAnsweredSchema = Type.Object(
  {
    type: Type.Literal('planner.command_answered'),
    command: Type.Literal('planner.cancel'),
    command_id: Type.Union([CommandId, Type.Null()], {
      description: "the command's command_id, or null when it had none",
    }),
    trial_id: TrialId,
    accepted: Type.Boolean({
      description:
        'true when the trial will stop because of this command, or, for a trial not received ' +
        'yet (state null), end cancelled when it arrives',
    }),
    message: Type.String({ description: 'what happened, for people' }),
    state: Type.Optional(
      Type.Union([TrialState, Type.Null()], {
        description:
          'the state the executor knows the trial in, or null when it has no record of it ' +
          '(with accepted true: the cancel waits for the trial to arrive); absent only when ' +
          'the database could not be read for the answer',
      }),
    ),
    ts: Timestamp,
  },
  {
    $id: 'planner.command_answered',
    title: 'command_answered',
    additionalProperties: false,
  },
);

/**
 * A TrialSpec arrived for a trial that already exists with the same spec — the broker delivered
 * it again, or the planner published it twice — and started nothing. On
 * `automat.answers.<trial_id>`, beside command answers. (A different spec under a known trial_id
 * goes to the dead-letter queue instead.)
 */
export const DuplicateSpecSchema = Type.Object(
  {
    type: Type.Literal('intake.duplicate_spec'),
    trial_id: TrialId,
    redelivered: Type.Boolean({
      description: 'true when the broker redelivered it (an executor died holding it)',
    }),
    state: TrialState,
    owner: Type.Union([Type.String(), Type.Null()], {
      description:
        "the executor named by the trial's lease when the spec came (the lease may have " +
        'lapsed since, e.g. for an ended trial), or null when none is named',
    }),
    message: Type.String({ description: 'what happened, for people' }),
    ts: Timestamp,
  },
  {
    $id: 'intake.duplicate_spec',
    title: 'duplicate_spec',
    additionalProperties: false,
  },
);

export type DuplicateSpec = Static<typeof DuplicateSpecSchema>;
export type PlannerCancel = Static<typeof PlannerCancelSchema>;
export type PlannerCommand = Static<typeof PlannerCommandSchema>;
export type CommandAnswered = Static<typeof CommandAnsweredSchema>;
