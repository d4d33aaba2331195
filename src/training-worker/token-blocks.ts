import type { TokenRows } from '../ingest/shard-rows.js';

/**
 * One split of generation shards: `rows` packed blocks of `columns` (seq_len + 1) token ids. A
 * block's first seq_len ids are the model's inputs and its last seq_len the targets, so every
 * position predicts the id that follows it.
 */
export interface BlockSplit {
  rows: number;
  columns: number;
  /** `rows × columns`, read from the shard file a batch at a time. */
  tokens: TokenRows;
}

/** Blocks copied out of a split as input and target windows, ready to become tensors. */
export interface BlockBatch {
  size: number;
  seqLen: number;
  /** `size × seqLen` ids: each block without its last id. */
  inputs: Int32Array;
  /** `size × seqLen` ids: each block without its first id. */
  targets: Int32Array;
}

/** Copies blocks `order[start .. start + size)` of `split` into one batch. */
export function gatherBlocks(
  split: BlockSplit,
  order: ArrayLike<number>,
  start: number,
  size: number,
): BlockBatch {
  const batch = emptyBatch(size, split.columns - 1);
  for (let i = 0; i < size; i++) copyBlock(split, order[start + i] as number, batch, i);
  return batch;
}

/** Blocks `start .. start + size)` in file order, read in one go. */
export function sliceBlocks(split: BlockSplit, start: number, size: number): BlockBatch {
  const batch = emptyBatch(size, split.columns - 1);
  const blocks = split.tokens.readRows(start, size);
  for (let i = 0; i < size; i++) splitBlock(blocks, i, split.columns, batch, i);
  return batch;
}

function emptyBatch(size: number, seqLen: number): BlockBatch {
  return {
    size,
    seqLen,
    inputs: new Int32Array(size * seqLen),
    targets: new Int32Array(size * seqLen),
  };
}

function copyBlock(split: BlockSplit, row: number, batch: BlockBatch, at: number): void {
  splitBlock(split.tokens.readRows(row, 1), 0, split.columns, batch, at);
}

/** Block `index` of `blocks` becomes input window and target window `at` of the batch. */
function splitBlock(
  blocks: Int32Array,
  index: number,
  columns: number,
  batch: BlockBatch,
  at: number,
): void {
  const seqLen = columns - 1;
  const from = index * columns;
  batch.inputs.set(blocks.subarray(from, from + seqLen), at * seqLen);
  batch.targets.set(blocks.subarray(from + 1, from + columns), at * seqLen);
}
