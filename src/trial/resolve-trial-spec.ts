import type { PrimaryMetricName, TaskTypeName, TrialSpec } from '../contracts/index.js';
import { ValidationError } from '../errors/index.js';
import {
  initialBatchSize,
  resolveDeviceProfile,
  type DeviceProfile,
} from '../policy/device-profiles.js';
import { METRIC_MODE, type MetricMode } from '../policy/metric-direction.js';

/** A TrialSpec with every default filled in; internals use this and never re-check. */
export interface ResolvedTrial {
  spec: TrialSpec;
  profile: DeviceProfile;
  mode: MetricMode;
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number;
  minDelta: number;
  /** Epochs early stopping ignores at the start. */
  warmupEpochs: number;
  /** The value the primary metric must beat before an improvement counts; null for none. */
  baseline: number | null;
  /** Transient worker failures the trial survives (each followed by a retry). */
  maxFailures: number;
  /** The floor of the out-of-memory batch back-off. */
  minBatchSize: number;
  seed: number;
  valFraction: number;
  /**
   * Seed of the train/validation split, fixed for every trial so that trials with different
   * training seeds share one set of shards (the split is part of the shard cache key).
   */
  splitSeed: number;
  budgetMs: number;
}

/** Documented defaults for the optional `hparams`. */
export const HPARAM_DEFAULTS = {
  epochs: 5,
  learning_rate: 0.005,
  patience: 2,
  min_delta: 0,
  warmup_epochs: 0,
  max_failures: 2,
  min_batch_size: 1,
  seed: 1337,
  val_fraction: 0.2,
} as const;

/** The split seed of every trial; see {@link ResolvedTrial.splitSeed}. */
export const SPLIT_SEED = 1337;

const METRICS_FOR_TASK: Readonly<Record<TaskTypeName, readonly PrimaryMetricName[]>> = {
  classification: ['val_accuracy', 'val_loss'],
  generation: ['val_perplexity', 'val_loss'],
};

/** A rule the schema cannot state, broken: the field at fault and what it must be. */
interface Problem {
  field: string;
  message: string;
}

/** What the cross-field checks settle: the profile and batch sizes, or every problem found. */
type CrossFieldCheck =
  | { ok: true; profile: DeviceProfile; batchSize: number; minBatchSize: number }
  | { ok: false; problems: [Problem, ...Problem[]] };

/**
 * Checks what the schema cannot (cross-field rules, known profiles) and fills defaults. Throws a
 * ValidationError naming the first field at fault and listing every problem found, so that a
 * planner can fix a spec in one round.
 */
export function resolveTrialSpec(spec: TrialSpec): ResolvedTrial {
  const checked = checkCrossFields(spec);
  if (!checked.ok) {
    const [first] = checked.problems;
    throw new ValidationError(
      first.field,
      checked.problems.map((p) => p.message),
    );
  }
  const { profile, batchSize, minBatchSize } = checked;
  const h = spec.hparams ?? {};
  return {
    spec,
    profile,
    mode: METRIC_MODE[spec.primary_metric],
    epochs: h.epochs ?? HPARAM_DEFAULTS.epochs,
    batchSize,
    learningRate: h.learning_rate ?? HPARAM_DEFAULTS.learning_rate,
    patience: h.patience ?? HPARAM_DEFAULTS.patience,
    minDelta: h.min_delta ?? HPARAM_DEFAULTS.min_delta,
    warmupEpochs: h.warmup_epochs ?? HPARAM_DEFAULTS.warmup_epochs,
    baseline: h.baseline ?? null,
    maxFailures: h.max_failures ?? HPARAM_DEFAULTS.max_failures,
    minBatchSize,
    seed: h.seed ?? HPARAM_DEFAULTS.seed,
    valFraction: h.val_fraction ?? HPARAM_DEFAULTS.val_fraction,
    splitSeed: SPLIT_SEED,
    budgetMs: spec.budget_seconds * 1000,
  };
}

/**
 * The cross-field rules, all of them: the metric fits the task, the profile is known, and the
 * back-off floor is at most the initial batch (the profile's unless `batch_size` is given).
 */
function checkCrossFields(spec: TrialSpec): CrossFieldCheck {
  const problems: Problem[] = [];
  const allowed = METRICS_FOR_TASK[spec.task_type];
  if (!allowed.includes(spec.primary_metric)) {
    problems.push({
      field: 'trial.primary_metric',
      message:
        `trial.primary_metric must be one of ${allowed.join(', ')} for task_type ` +
        `"${spec.task_type}", got "${spec.primary_metric}"`,
    });
  }
  let profile: DeviceProfile;
  try {
    profile = resolveDeviceProfile(spec.device_profile);
  } catch (error) {
    problems.push({ field: 'trial.device_profile', message: (error as Error).message });
    return { ok: false, problems: problems as [Problem, ...Problem[]] };
  }
  const h = spec.hparams ?? {};
  const batchSize = h.batch_size ?? initialBatchSize(profile, spec.seq_len, spec.embed_dim);
  const minBatchSize = h.min_batch_size ?? HPARAM_DEFAULTS.min_batch_size;
  if (minBatchSize > batchSize) {
    problems.push({
      field: 'trial.hparams.min_batch_size',
      message: `trial.hparams.min_batch_size must be at most the batch size ${batchSize}, got ${minBatchSize}`,
    });
  }
  const [first, ...rest] = problems;
  if (first !== undefined) return { ok: false, problems: [first, ...rest] };
  return { ok: true, profile, batchSize, minBatchSize };
}
