import { Type, type Static } from '@sinclair/typebox';
import { Attempt, MetricValue, WireError, envelope } from './common.js';

/**
 * Fields of every message a worker sends. From the worker, `seq` is the worker's own counter. On
 * the bus, `seq` is the executor's per-trial sequence (shared with lifecycle events) and
 * `source_seq` keeps the worker's.
 */
const fromWorker = {
  ...envelope,
  attempt: Attempt,
  source_seq: Type.Optional(
    Type.Integer({ minimum: 0, description: "on the bus only: the worker's own seq" }),
  ),
};

export const HelloSchema = Type.Object(
  {
    type: Type.Literal('heartbeat.hello'),
    ...fromWorker,
    actual_batch: Type.Integer({ minimum: 1 }),
    tokenizer_ref: Type.String(),
    pid: Type.Integer({ minimum: 1 }),
    start_epoch: Type.Integer({ minimum: 1, description: 'the first epoch this attempt trains' }),
    execution_provider: Type.Optional(
      Type.String({ description: 'the execution provider the worker actually trains on' }),
    ),
  },
  { $id: 'heartbeat.hello', title: 'hello', additionalProperties: false },
);

export const EpochMetrics = Type.Object(
  {
    primary: MetricValue,
    tokens_per_s: Type.Number({ minimum: 0 }),
    train_loss: MetricValue,
    val_loss: MetricValue,
  },
  { additionalProperties: MetricValue },
);

export const EpochSchema = Type.Object(
  {
    type: Type.Literal('heartbeat.epoch'),
    ...fromWorker,
    epoch: Type.Integer({ minimum: 1 }),
    duration_ms: Type.Number({ minimum: 0 }),
    metrics: EpochMetrics,
  },
  { $id: 'heartbeat.epoch', title: 'epoch', additionalProperties: false },
);

export const CheckpointSchema = Type.Object(
  {
    type: Type.Literal('heartbeat.checkpoint'),
    ...fromWorker,
    epoch: Type.Integer({ minimum: 1 }),
    path: Type.String({ description: 'local folder holding the checkpoint files' }),
    bytes: Type.Integer({ minimum: 0 }),
  },
  { $id: 'heartbeat.checkpoint', title: 'checkpoint', additionalProperties: false },
);

export const FINAL_STATUSES = ['completed', 'cancelled', 'failed'] as const;

export const BestMetric = Type.Object(
  {
    name: Type.String(),
    value: MetricValue,
    epoch: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  },
  { additionalProperties: false },
);

export const FinalSchema = Type.Object(
  {
    type: Type.Literal('heartbeat.final'),
    ...fromWorker,
    status: Type.Union(FINAL_STATUSES.map((s) => Type.Literal(s))),
    best_metric: BestMetric,
    epochs_completed: Type.Integer({ minimum: 0 }),
    error: Type.Optional(WireError),
  },
  { $id: 'heartbeat.final', title: 'final', additionalProperties: false },
);

/**
 * A liveness beat the worker sends every few seconds while it trains, so that the executor can
 * tell a silent (hung) process from a slow epoch. It is consumed by the liveness watchdog and is
 * not mirrored to the bus or stored: epochs already carry everything a consumer needs.
 */
export const ProgressSchema = Type.Object(
  {
    type: Type.Literal('heartbeat.progress'),
    ...fromWorker,
    epoch: Type.Integer({ minimum: 1, description: 'the epoch being trained' }),
    epoch_elapsed_ms: Type.Number({
      minimum: 0,
      description: 'milliseconds since this epoch began',
    }),
    rss_bytes: Type.Integer({ minimum: 0, description: "the worker process's resident set" }),
    heap_used_bytes: Type.Integer({ minimum: 0, description: 'V8 heap in use' }),
  },
  { $id: 'heartbeat.progress', title: 'progress', additionalProperties: false },
);

export const HeartbeatSchema = Type.Union(
  [HelloSchema, EpochSchema, CheckpointSchema, FinalSchema, ProgressSchema],
  { $id: 'Heartbeat' },
);

export type HelloMessage = Static<typeof HelloSchema>;
export type EpochMessage = Static<typeof EpochSchema>;
export type CheckpointMessage = Static<typeof CheckpointSchema>;
export type FinalMessage = Static<typeof FinalSchema>;
export type ProgressMessage = Static<typeof ProgressSchema>;
export type Heartbeat = Static<typeof HeartbeatSchema>;
export type BestMetricValue = Static<typeof BestMetric>;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
