import type { ModelSettingsValue } from '../contracts/index.js';
import type { ShardSplitRows } from '../ingest/shard-reader.js';
import type { BlockSplit } from './token-blocks.js';
import { invalid, readShardsFor } from './training-data.js';

export interface LanguageModelData {
  tokenizerRef: string;
  train: BlockSplit;
  validation: BlockSplit;
}

/**
 * Opens the generation shard set at `manifestPath` and verifies it fits `model`: blocks of
 * model.seq_len + 1 ids (inputs and targets overlap by all but one), token ids below
 * vocab_size (checked as the files are opened), and at least one block in each split.
 * Mismatches are AUTOMAT_E_DATASET_INVALID naming both values.
 */
export async function loadLanguageModelData(
  manifestPath: string,
  model: ModelSettingsValue,
): Promise<LanguageModelData> {
  const { manifest, train, validation } = await readShardsFor(manifestPath, model);
  const columns = model.seq_len + 1;
  if (manifest.seq_len !== columns) {
    invalid(
      `generation shards have blocks of ${manifest.seq_len} ids but model.seq_len ` +
        `${model.seq_len} needs ${columns} (seq_len + 1)`,
    );
  }
  return {
    tokenizerRef: manifest.tokenizer.ref,
    train: blocks('train', train, columns),
    validation: blocks('validation', validation, columns),
  };
}

function blocks(name: string, split: ShardSplitRows, columns: number): BlockSplit {
  const { rows, tokens } = split;
  if (tokens.rows !== rows || tokens.columns !== columns) {
    invalid(`splits.${name} does not hold ${rows} blocks of ${columns} ids`);
  }
  if (rows === 0) invalid(`splits.${name} holds no blocks`);
  return { rows, columns, tokens };
}
