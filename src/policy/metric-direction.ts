import type { PrimaryMetricName } from '../contracts/index.js';

export type MetricMode = 'max' | 'min';

/**
 * Which way is better for each primary metric. The table is the single source: a metric that
 * is not listed cannot be asked for (the TrialSpec schema only admits these names).
 */
export const METRIC_MODE: Readonly<Record<PrimaryMetricName, MetricMode>> = {
  val_accuracy: 'max',
  val_loss: 'min',
  val_perplexity: 'min',
};

/** True when `candidate` is strictly better than `reference` by more than `margin`. */
export function beats(mode: MetricMode, candidate: number, reference: number, margin = 0): boolean {
  return mode === 'max' ? candidate - reference > margin : reference - candidate > margin;
}
