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
  seed: 1337,
  val_fraction: 0.2,
} as const;

/** The split seed of every trial; see {@link ResolvedTrial.splitSeed}. */
export const SPLIT_SEED = 1337;

const METRICS_FOR_TASK: Readonly<Record<TaskTypeName, readonly PrimaryMetricName[]>> = {
  classification: ['val_accuracy', 'val_loss'],
  generation: ['val_perplexity', 'val_loss'],
};

/**
 * Checks what the schema cannot (cross-field rules, known profiles) and fills defaults. Throws a
 * ValidationError naming the field.
 */
export function resolveTrialSpec(spec: TrialSpec): ResolvedTrial {
  const allowed = METRICS_FOR_TASK[spec.task_type];
  if (!allowed.includes(spec.primary_metric)) {
    throw new ValidationError('trial.primary_metric', [
      `trial.primary_metric must be one of ${allowed.join(', ')} for task_type ` +
        `"${spec.task_type}", got "${spec.primary_metric}"`,
    ]);
  }
  let profile: DeviceProfile;
  try {
    profile = resolveDeviceProfile(spec.device_profile);
  } catch (error) {
    throw new ValidationError('trial.device_profile', [(error as Error).message]);
  }
  const h = spec.hparams ?? {};
  return {
    spec,
    profile,
    mode: METRIC_MODE[spec.primary_metric],
    epochs: h.epochs ?? HPARAM_DEFAULTS.epochs,
    batchSize: h.batch_size ?? initialBatchSize(profile, spec.seq_len, spec.embed_dim),
    learningRate: h.learning_rate ?? HPARAM_DEFAULTS.learning_rate,
    patience: h.patience ?? HPARAM_DEFAULTS.patience,
    minDelta: h.min_delta ?? HPARAM_DEFAULTS.min_delta,
    seed: h.seed ?? HPARAM_DEFAULTS.seed,
    valFraction: h.val_fraction ?? HPARAM_DEFAULTS.val_fraction,
    splitSeed: SPLIT_SEED,
    budgetMs: spec.budget_seconds * 1000,
  };
}
