import { Type, type Static } from '@sinclair/typebox';
import { TrialId } from './common.js';

export const TASK_TYPES = ['classification', 'generation'] as const;
export const PRIMARY_METRICS = ['val_accuracy', 'val_loss', 'val_perplexity'] as const;

/** Tokens per row a trial (and an ingest) may ask for. */
export const SEQ_LEN_RANGE = { min: 8, max: 8192 } as const;

export const TaskType = Type.Union(
  TASK_TYPES.map((t) => Type.Literal(t)),
  { description: `one of ${TASK_TYPES.map((t) => `"${t}"`).join(', ')}` },
);

export const PrimaryMetric = Type.Union(
  PRIMARY_METRICS.map((m) => Type.Literal(m)),
  { description: `one of ${PRIMARY_METRICS.map((m) => `"${m}"`).join(', ')}` },
);

/** Optional knobs; every one has a documented default in `resolveTrialSpec`. */
export const Hparams = Type.Object(
  {
    epochs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'an integer between 1 and 1000' }),
    ),
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65536, description: 'an integer between 1 and 65536' }),
    ),
    learning_rate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 10,
        description: 'a number greater than 0 and at most 10',
      }),
    ),
    patience: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'an integer between 1 and 1000' }),
    ),
    min_delta: Type.Optional(Type.Number({ minimum: 0, description: 'a non-negative number' })),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 31 - 1,
        description: 'a non-negative 31-bit integer',
      }),
    ),
    val_fraction: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 0.5,
        description: 'a number greater than 0 and at most 0.5',
      }),
    ),
    warmup_epochs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: 'an integer between 0 and 1000 (epochs early stopping ignores)',
      }),
    ),
    baseline: Type.Optional(
      Type.Number({ description: 'a finite number the primary metric must beat to count' }),
    ),
    max_failures: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: 'an integer between 0 and 100 (worker failures retried)',
      }),
    ),
    min_batch_size: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65536,
        description: 'an integer between 1 and 65536 (floor of the out-of-memory back-off)',
      }),
    ),
  },
  { additionalProperties: false, description: 'an object of known hyperparameters' },
);

export const TrialSpecSchema = Type.Object(
  {
    trial_id: TrialId,
    task_type: TaskType,
    tokenizer_ref: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'a non-empty tokenizer reference (a registry name or a path to tokenizer.json)',
    }),
    device_profile: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'a non-empty device profile name such as "cpu"',
    }),
    seq_len: Type.Integer({
      minimum: SEQ_LEN_RANGE.min,
      maximum: SEQ_LEN_RANGE.max,
      description: `an integer between ${SEQ_LEN_RANGE.min} and ${SEQ_LEN_RANGE.max}`,
    }),
    embed_dim: Type.Integer({
      minimum: 1,
      maximum: 4096,
      description: 'an integer between 1 and 4096',
    }),
    budget_seconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 604800,
      description: 'a number of seconds greater than 0 and at most 604800 (7 days)',
    }),
    dataset_uri: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'a non-empty dataset path or URI',
    }),
    primary_metric: PrimaryMetric,
    hparams: Type.Optional(Hparams),
  },
  {
    $id: 'TrialSpec',
    title: 'TrialSpec',
    description:
      'What the planner asks Automat0 to run: one trial. Three rules span fields and live in ' +
      'the executor, not in this schema: device_profile must name a profile the executor knows ' +
      '(cpu, t4-16gb, a100-80gb, h200; docs/policies.md), primary_metric must fit task_type ' +
      '(classification: val_accuracy or val_loss; generation: val_perplexity or val_loss), and ' +
      'hparams.min_batch_size must be at most the batch size. A spec breaking any of them is ' +
      'dead-lettered with the field named.',
    additionalProperties: false,
  },
);

export type TrialSpec = Static<typeof TrialSpecSchema>;
export type TaskTypeName = (typeof TASK_TYPES)[number];
export type PrimaryMetricName = (typeof PRIMARY_METRICS)[number];
export type HparamsInput = Static<typeof Hparams>;
