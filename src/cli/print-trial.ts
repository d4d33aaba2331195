import type { EpochRecord, TrialRecord } from '../store/trial-store.js';
import { beats, METRIC_MODE, type MetricMode } from '../policy/metric-direction.js';
import type { TrialOutcome } from '../trial/trial-outcome.js';

/** The CLI's human-readable output; everything here writes to stdout on purpose. */

export function formatEpochTable(epochs: EpochRecord[], primaryMetric: string): string {
  const header = ['attempt', 'epoch', primaryMetric, 'train_loss', 'val_loss', 'tokens/s', 'secs'];
  const rows = epochs.map((e) => [
    String(e.attempt),
    String(e.epoch),
    fmt(e.primary),
    fmt(e.metrics.train_loss ?? null),
    fmt(e.metrics.val_loss ?? null),
    e.metrics.tokens_per_s == null ? '-' : Math.round(e.metrics.tokens_per_s).toLocaleString('en'),
    (e.durationMs / 1000).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatOutcome(outcome: TrialOutcome): string {
  const best = outcome.bestMetric;
  const value = best.value === null ? 'none' : best.value.toFixed(4);
  const lines = [
    `trial      ${outcome.trialId}`,
    `state      ${outcome.state} (stop reason: ${outcome.stopReason})`,
    `best       ${best.name} = ${value}${best.epoch ? ` at epoch ${best.epoch}` : ''}`,
    `checkpoint ${outcome.bestCheckpointUri ?? 'none'}`,
  ];
  if (outcome.error) lines.push(`error      ${outcome.error.code}: ${outcome.error.message}`);
  return lines.join('\n');
}

/**
 * `why`: the reason recorded with the trial's latest state change. `epochs`: the recorded ones,
 * which give the best so far while the trial runs (its result is stored when it ends).
 */
export function formatTrialRecord(
  record: TrialRecord,
  why?: string,
  epochs: EpochRecord[] = [],
): string {
  const best = record.bestMetric;
  const metric = record.spec.primary_metric;
  const soFar = best?.value == null ? bestSoFar(epochs, METRIC_MODE[metric]) : undefined;
  const bestLine =
    best?.value != null
      ? `${best.name} = ${best.value.toFixed(4)} at epoch ${best.epoch}`
      : soFar
        ? `${metric} = ${soFar.value.toFixed(4)} at epoch ${soFar.epoch} so far`
        : 'none';
  return [
    `trial      ${record.trialId} (${record.spec.task_type}, ${metric})`,
    `state      ${record.state}${record.stopReason ? ` (stop reason: ${record.stopReason})` : ''}`,
    ...(why ? [`why        ${why}`] : []),
    `best       ${bestLine}`,
    `checkpoint ${record.bestCheckpointUri ?? 'none'}`,
    `updated    ${record.updatedAt}`,
    ...(record.error ? [`error      ${record.error.code}: ${record.error.message}`] : []),
  ].join('\n');
}

function bestSoFar(
  epochs: EpochRecord[],
  mode: MetricMode,
): { value: number; epoch: number } | undefined {
  let best: { value: number; epoch: number } | undefined;
  for (const { primary, epoch } of epochs) {
    if (primary === null) continue;
    if (best === undefined || beats(mode, primary, best.value)) best = { value: primary, epoch };
  }
  return best;
}

function fmt(value: number | null): string {
  return value === null ? '-' : value.toFixed(4);
}
