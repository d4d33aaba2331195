import { splitRows } from './dataset-split.js';
import type { SplitArrays } from './shard-writer.js';
import type { TokenizedSource } from './tokenize-source.js';

export interface GenerationShards {
  train: SplitArrays;
  validation: SplitArrays;
  /** Tokens written into blocks over both splits. */
  tokens: number;
  /** Documents read. */
  documents: number;
}

/**
 * Packs documents into contiguous blocks of `columns` (seq_len + 1) ids: a block's first
 * seq_len ids are the inputs and its last seq_len the targets. Documents are split between train
 * and validation before packing, so no document contributes to both. Each split's tail that does
 * not fill a block is dropped; a split left without a single block holds zero rows.
 */
export function buildGenerationShards(
  tokenized: TokenizedSource,
  columns: number,
  seed: number,
  valFraction: number,
): GenerationShards {
  const documents = locateDocuments(tokenized);
  const split = splitRows(new Int32Array(documents.length), seed, valFraction);
  const train = pack(tokenized, documents, split.train, columns);
  const validation = pack(tokenized, documents, split.validation, columns);
  return {
    train,
    validation,
    tokens: train.tokens.length + validation.tokens.length,
    documents: documents.length,
  };
}

interface DocumentSpan {
  batch: number;
  start: number;
  length: number;
}

function locateDocuments(tokenized: TokenizedSource): DocumentSpan[] {
  const spans: DocumentSpan[] = [];
  tokenized.batches.forEach((output, batch) => {
    let start = 0;
    for (const length of output.lengths) {
      spans.push({ batch, start, length });
      start += length;
    }
  });
  return spans;
}

function pack(
  tokenized: TokenizedSource,
  documents: DocumentSpan[],
  order: Int32Array,
  columns: number,
): SplitArrays {
  let available = 0;
  for (const doc of order) available += (documents[doc] as DocumentSpan).length;
  const rows = Math.floor(available / columns);
  const tokens = new Int32Array(rows * columns);
  let filled = 0;
  for (const doc of order) {
    if (filled === tokens.length) break;
    const span = documents[doc] as DocumentSpan;
    const ids = (tokenized.batches[span.batch] as { ids: Int32Array }).ids;
    const take = Math.min(span.length, tokens.length - filled);
    tokens.set(ids.subarray(span.start, span.start + take), filled);
    filled += take;
  }
  return { rows, tokens };
}
