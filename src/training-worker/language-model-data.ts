import type { ModelSettingsValue } from '../contracts/index.js';
import type { ShardSplitData } from '../ingest/shard-reader.js';
import type { BlockSplit } from './token-blocks.js';
import { checkBelow, invalid, readShardsFor } from './training-data.js';

export interface LanguageModelData {
  tokenizerRef: string;
  train: BlockSplit;
  validation: BlockSplit;
}

/**
 * Reads the generation shard set at `manifestPath` and verifies it fits `model`: blocks of
 * model.seq_len + 1 ids (inputs and targets overlap by all but one), token ids below
 * vocab_size, and at least one block in each split. Mismatches are AUTOMAT_E_DATASET_INVALID
 * naming both values.
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
    train: blocks('train', train, columns, model.vocab_size),
    validation: blocks('validation', validation, columns, model.vocab_size),
  };
}

function blocks(name: string, split: ShardSplitData, columns: number, vocab: number): BlockSplit {
  const { rows, tokens } = split;
  if (tokens.length !== rows * columns) {
    invalid(`splits.${name} does not hold ${rows} blocks of ${columns} ids`);
  }
  if (rows === 0) invalid(`splits.${name} holds no blocks`);
  checkBelow(`splits.${name} token id`, tokens, vocab);
  return { rows, columns, tokens };
}
