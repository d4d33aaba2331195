import { splitRows } from './dataset-split.js';
import type { SplitArrays } from './shard-writer.js';
import type { TokenizedSource } from './tokenize-source.js';
import type { TokenizeOutput } from './tokenize-task.js';

export interface ClassificationShards {
  /** Label names sorted by UTF-16 code unit; a row's label is its index here. */
  labels: string[];
  train: SplitArrays;
  validation: SplitArrays;
  /** Real (unpadded) tokens over both splits. */
  tokens: number;
}

/**
 * Turns padded batches into stratified train and validation arrays: labels become indices into
 * the sorted label names, rows are split by `splitRows` and copied out in split order.
 */
export function buildClassificationShards(
  tokenized: TokenizedSource,
  seqLen: number,
  seed: number,
  valFraction: number,
): ClassificationShards {
  const labels = [...new Set(tokenized.labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const indexOf = new Map(labels.map((name, index) => [name, index]));
  const groups = Int32Array.from(tokenized.labels, (name) => indexOf.get(name) as number);
  const rows = locateRows(tokenized);
  const split = splitRows(groups, seed, valFraction);
  const train = gather(tokenized, rows, groups, split.train, seqLen);
  const validation = gather(tokenized, rows, groups, split.validation, seqLen);
  return { labels, train, validation, tokens: sum(train.lengths) + sum(validation.lengths) };
}

/** For every row, which batch holds it and at which position. */
function locateRows(tokenized: TokenizedSource): { batch: Int32Array; index: Int32Array } {
  const total = tokenized.labels.length;
  const batch = new Int32Array(total);
  const index = new Int32Array(total);
  let row = 0;
  tokenized.batches.forEach((output, b) => {
    for (let i = 0; i < output.lengths.length; i += 1, row += 1) {
      batch[row] = b;
      index[row] = i;
    }
  });
  return { batch, index };
}

function gather(
  tokenized: TokenizedSource,
  rows: { batch: Int32Array; index: Int32Array },
  groups: Int32Array,
  order: Int32Array,
  seqLen: number,
): Required<SplitArrays> {
  const tokens = new Int32Array(order.length * seqLen);
  const labels = new Int32Array(order.length);
  const lengths = new Int32Array(order.length);
  order.forEach((row, out) => {
    const output = tokenized.batches[rows.batch[row] as number] as TokenizeOutput;
    const at = rows.index[row] as number;
    tokens.set(output.ids.subarray(at * seqLen, (at + 1) * seqLen), out * seqLen);
    labels[out] = groups[row] as number;
    lengths[out] = output.lengths[at] as number;
  });
  return { rows: order.length, tokens, labels, lengths };
}

function sum(values: Int32Array): number {
  return values.reduce((total, n) => total + n, 0);
}
