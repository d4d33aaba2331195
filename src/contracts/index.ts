import {
  CancelAfterEpochSchema,
  ControlMessageSchema,
  TrainMessageSchema,
} from './control-messages.js';
import { defineContract } from './contract.js';
import {
  CheckpointSchema,
  EpochSchema,
  FinalSchema,
  HeartbeatSchema,
  HelloSchema,
  ProgressSchema,
} from './heartbeats.js';
import {
  BatchBackoffSchema,
  HandedOverSchema,
  TakenOverSchema,
  PromotionCandidateSchema,
  StateChangedSchema,
  TrialEventSchema,
} from './bus-events.js';
import {
  CommandAnsweredSchema,
  DuplicateSpecSchema,
  PlannerCancelSchema,
  PlannerCommandSchema,
} from './planner-commands.js';
import { TrialSpecSchema } from './trial-spec.js';

export * from './common.js';
export * from './trial-spec.js';
export * from './control-messages.js';
export * from './heartbeats.js';
export * from './bus-events.js';
export * from './planner-commands.js';
export { defineContract, type Contract } from './contract.js';

/** The validators used at every edge. */
export const contracts = {
  trialSpec: defineContract(TrialSpecSchema, 'trial'),
  control: defineContract(ControlMessageSchema, 'control'),
  heartbeat: defineContract(HeartbeatSchema, 'heartbeat'),
  trialEvent: defineContract(TrialEventSchema, 'event'),
  plannerCommand: defineContract(PlannerCommandSchema, 'command'),
  commandAnswered: defineContract(CommandAnsweredSchema, 'answer'),
  duplicateSpec: defineContract(DuplicateSpecSchema, 'answer'),
};

/** Every message schema, by file name, for `npm run contracts:export`. */
export const exportedSchemas = {
  'trial-spec': TrialSpecSchema,
  'control.train': TrainMessageSchema,
  'control.cancel_after_epoch': CancelAfterEpochSchema,
  'heartbeat.hello': HelloSchema,
  'heartbeat.epoch': EpochSchema,
  'heartbeat.checkpoint': CheckpointSchema,
  'heartbeat.final': FinalSchema,
  'heartbeat.progress': ProgressSchema,
  'trial.state_changed': StateChangedSchema,
  'trial.promotion_candidate': PromotionCandidateSchema,
  'trial.batch_backoff': BatchBackoffSchema,
  'trial.taken_over': TakenOverSchema,
  'trial.handed_over': HandedOverSchema,
  'planner.cancel': PlannerCancelSchema,
  'planner.command_answered': CommandAnsweredSchema,
  'intake.duplicate_spec': DuplicateSpecSchema,
} as const;
