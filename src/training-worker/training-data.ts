import { stat } from 'node:fs/promises';
import type { ModelSettingsValue } from '../contracts/index.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { openShards, type OpenedShards, type ShardSplitRows } from '../ingest/shard-reader.js';
import type { TokenRows } from '../ingest/shard-rows.js';

/** One split of a classification shard set, checked against the model that trains on it. */
export interface LabelledSplit {
  rows: number;
  seqLen: number;
  /** Token ids, `rows × seqLen`, read from the shard file a batch at a time. */
  tokens: TokenRows;
  labels: Int32Array;
  /** Real (unpadded) tokens per row. */
  lengths: Int32Array;
}

export interface TrainingData {
  tokenizerRef: string;
  train: LabelledSplit;
  validation: LabelledSplit;
}

/**
 * Reads the classification shard set at `manifestPath` and verifies it fits `model`: the same
 * seq_len, labels below num_labels and token ids below vocab_size. Mismatches are
 * AUTOMAT_E_DATASET_INVALID naming both values.
 */
export async function loadTrainingData(
  manifestPath: string,
  model: ModelSettingsValue,
): Promise<TrainingData> {
  const shards = await readShardsFor(manifestPath, model);
  const { manifest } = shards;
  if (manifest.seq_len !== model.seq_len) {
    invalid(`shards have seq_len ${manifest.seq_len} but model.seq_len is ${model.seq_len}`);
  }
  if (manifest.labels.length > model.num_labels) {
    invalid(
      `shards have ${manifest.labels.length} labels but model.num_labels is ${model.num_labels}`,
    );
  }
  return {
    tokenizerRef: manifest.tokenizer.ref,
    train: labelled('train', shards.train, model),
    validation: labelled('validation', shards.validation, model),
  };
}

/**
 * Opens a shard set made for `model`'s task: every file's size and sha256 are checked, and every
 * token id against vocab_size, in one streaming pass; tokens are then read a batch at a time.
 * AUTOMAT_E_DATASET_NOT_FOUND when there is no manifest at the path.
 */
export async function readShardsFor(
  manifestPath: string,
  model: ModelSettingsValue,
): Promise<OpenedShards> {
  const found = await stat(manifestPath).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) {
    throw new AutomatError(
      ErrorCodes.DATASET_NOT_FOUND,
      `dataset_uri ${JSON.stringify(manifestPath)} is not a shard manifest file that exists`,
    );
  }
  const shards = await openShards(manifestPath, (ids, split) =>
    checkBelow(`splits.${split} token id`, ids, model.vocab_size),
  );
  if (shards.manifest.task_type !== model.task_type) {
    await closeTokens(shards);
    invalid(
      `the shards hold ${shards.manifest.task_type} data but model.task_type is ${model.task_type}`,
    );
  }
  return shards;
}

function labelled(name: string, split: ShardSplitRows, model: ModelSettingsValue): LabelledSplit {
  const { labels, lengths, tokens, rows } = split;
  if (labels === undefined || lengths === undefined) {
    invalid(`splits.${name} has no labels or lengths file`);
  }
  const seqLen = model.seq_len;
  const shaped = tokens.rows === rows && tokens.columns === seqLen;
  if (!shaped || labels.length !== rows || lengths.length !== rows) {
    invalid(`splits.${name} arrays do not hold ${rows} rows of ${seqLen} tokens`);
  }
  checkBelow(`splits.${name} label`, labels, model.num_labels);
  return { rows, seqLen, tokens, labels, lengths };
}

/** Closes both splits' token files; a failure to close costs nothing worth reporting. */
export async function closeTokens(data: {
  train: { tokens: TokenRows };
  validation: { tokens: TokenRows };
}): Promise<void> {
  await Promise.all([data.train.tokens.close(), data.validation.tokens.close()]).catch(
    () => undefined,
  );
}

/** DATASET_INVALID unless every value lies in [0, limit). */
export function checkBelow(what: string, values: Int32Array, limit: number): void {
  let min = 0;
  let max = -1;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (min < 0 || max >= limit) {
    invalid(`${what}s must lie in [0, ${limit}), found ${min < 0 ? min : max}`);
  }
}

export function invalid(message: string): never {
  throw new AutomatError(ErrorCodes.DATASET_INVALID, message);
}
