import { Type, type Static } from '@sinclair/typebox';
import { Attempt, envelope } from './common.js';
import { PrimaryMetric, TaskType } from './trial-spec.js';

/** Where the device profile asks the worker to run; the worker reports what it used in hello. */
export const ExecutionProvider = Type.Union(
  [Type.Literal('cpu'), Type.Literal('wasm'), Type.Literal('cuda')],
  { description: 'one of "cpu", "wasm", "cuda"' },
);

/** Resolved training settings the executor sends; the worker applies them verbatim. */
export const TrainHparams = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1 }),
    batch_size: Type.Integer({ minimum: 1 }),
    learning_rate: Type.Number({ exclusiveMinimum: 0 }),
    seed: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const ModelSettings = Type.Object(
  {
    task_type: TaskType,
    seq_len: Type.Integer({ minimum: 1 }),
    embed_dim: Type.Integer({ minimum: 1 }),
    vocab_size: Type.Integer({ minimum: 1 }),
    num_labels: Type.Integer({ minimum: 0, description: '0 for generation' }),
    primary_metric: PrimaryMetric,
    execution_provider: Type.Optional(ExecutionProvider),
  },
  { additionalProperties: false },
);

export const TrainMessageSchema = Type.Object(
  {
    type: Type.Literal('control.train'),
    ...envelope,
    attempt: Attempt,
    dataset_uri: Type.String({ description: 'path of the shard manifest to train on' }),
    checkpoint_dir: Type.String({ description: 'local folder the worker writes checkpoints into' }),
    resume_from: Type.Optional(Type.String({ description: 'checkpoint folder to resume from' })),
    model: ModelSettings,
    hparams: TrainHparams,
  },
  { $id: 'control.train', title: 'train', additionalProperties: false },
);

export const CancelAfterEpochSchema = Type.Object(
  {
    type: Type.Literal('control.cancel_after_epoch'),
    ...envelope,
    attempt: Attempt,
    reason: Type.String({ description: 'why the executor wants the worker to stop' }),
  },
  { $id: 'control.cancel_after_epoch', title: 'cancel_after_epoch', additionalProperties: false },
);

export const ControlMessageSchema = Type.Union([TrainMessageSchema, CancelAfterEpochSchema], {
  $id: 'ControlMessage',
});

export type TrainMessage = Static<typeof TrainMessageSchema>;
export type CancelAfterEpochMessage = Static<typeof CancelAfterEpochSchema>;
export type ControlMessage = Static<typeof ControlMessageSchema>;
export type ModelSettingsValue = Static<typeof ModelSettings>;
export type TrainHparamsValue = Static<typeof TrainHparams>;
