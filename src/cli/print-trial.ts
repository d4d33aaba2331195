import { printable } from '../log/printable.js';
import type { CheckpointRecord, EpochRecord, TrialRecord } from '../store/trial-store.js';
import { beats, METRIC_MODE, type MetricMode } from '../policy/metric-direction.js';
import type { TrialOutcome } from '../trial/trial-outcome.js';

/**
 * The CLI's human-readable output; everything here writes to stdout on purpose. Text that came
 * from outside (a planner's cancel reason, a dataset URI inside an error) goes through `shown`,
 * so that it cannot move the cursor, colour the terminal or forge a line of this output.
 */

/** Longest stored text shown whole; reasons and error messages are rarely longer. */
const SHOWN_CHARS = 2000;

function shown(text: string): string {
  return printable(text, SHOWN_CHARS);
}

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
    `checkpoint ${shown(outcome.bestCheckpointUri ?? 'none')}`,
  ];
  if (outcome.error) lines.push(errorLine('error', outcome.error));
  return lines.join('\n');
}

/** What `show` prints besides the stored record itself. */
export interface TrialRecordContext {
  /** The reason recorded with the trial's latest state change. */
  why?: string | undefined;
  /** The recorded epochs: they give the best so far while the trial runs. */
  epochs?: EpochRecord[];
  /** The recorded checkpoints: the latest is shown until the trial's best one is stored. */
  checkpoints?: CheckpointRecord[];
}

/**
 * A stored trial for a person. An error recorded by an attempt that was retried is labelled as
 * such once the trial completed, since it no longer describes the trial.
 */
export function formatTrialRecord(record: TrialRecord, context: TrialRecordContext = {}): string {
  const { why, epochs = [], checkpoints = [] } = context;
  const best = record.bestMetric;
  const metric = record.spec.primary_metric;
  const soFar = best?.value == null ? bestSoFar(epochs, METRIC_MODE[metric]) : undefined;
  const bestLine =
    best?.value != null
      ? `${best.name} = ${best.value.toFixed(4)} at epoch ${best.epoch}`
      : soFar
        ? `${metric} = ${soFar.value.toFixed(4)} at epoch ${soFar.epoch} so far`
        : 'none';
  const latest = checkpoints.at(-1);
  const checkpoint =
    record.bestCheckpointUri ??
    (latest ? `latest ${latest.uri} (attempt ${latest.attempt}, epoch ${latest.epoch})` : 'none');
  const errorLabel = record.state === 'completed' ? 'retried' : 'error';
  return [
    `trial      ${record.trialId} (${record.spec.task_type}, ${metric})`,
    `state      ${record.state}${record.stopReason ? ` (stop reason: ${record.stopReason})` : ''}`,
    ...(why ? [`why        ${shown(why)}`] : []),
    `best       ${bestLine}`,
    `checkpoint ${shown(checkpoint)}`,
    `updated    ${record.updatedAt}`,
    ...(record.error ? [errorLine(errorLabel, record.error)] : []),
  ].join('\n');
}

function errorLine(label: string, error: { code: string; message: string }): string {
  return `${label.padEnd(10)} ${shown(error.code)}: ${shown(error.message)}`;
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
