import type { LabelledSplit } from './training-data.js';

/** Rows copied out of a split, ready to become tensors. */
export interface RowBatch {
  size: number;
  /** `size × seqLen` token ids. */
  ids: Int32Array;
  lengths: Int32Array;
  labels: Int32Array;
  /** Sum of `lengths`: the real tokens this batch trains on. */
  realTokens: number;
}

/** Copies rows `order[start .. start + size)` of `split` into one contiguous batch. */
export function gatherRows(
  split: LabelledSplit,
  order: ArrayLike<number>,
  start: number,
  size: number,
): RowBatch {
  const { seqLen } = split;
  const batch: RowBatch = {
    size,
    ids: new Int32Array(size * seqLen),
    lengths: new Int32Array(size),
    labels: new Int32Array(size),
    realTokens: 0,
  };
  for (let i = 0; i < size; i++) {
    const row = order[start + i] as number;
    split.tokens.copyRow(row, batch.ids, i * seqLen);
    const length = Math.min(Math.max(split.lengths[row] as number, 0), seqLen);
    batch.lengths[i] = length;
    batch.labels[i] = split.labels[row] as number;
    batch.realTokens += length;
  }
  return batch;
}

/** Rows `start .. start + size)` in file order, read in one go. */
export function sliceRows(split: LabelledSplit, start: number, size: number): RowBatch {
  const { seqLen } = split;
  const lengths = split.lengths.subarray(start, start + size);
  let realTokens = 0;
  for (const length of lengths) realTokens += Math.min(Math.max(length, 0), seqLen);
  return {
    size,
    ids: split.tokens.readRows(start, size),
    lengths,
    labels: split.labels.subarray(start, start + size),
    realTokens,
  };
}
