import type { IngestPool, PendingBatch } from './ingest-pool.js';
import type { JsonlSource } from './jsonl-source.js';
import type { LoadedTokenizer } from './loaded-tokenizer.js';
import type { TokenizeOutput, TokenizeTask } from './tokenize-task.js';

export interface TokenizeSourceOptions {
  pool: IngestPool;
  tokenizer: LoadedTokenizer;
  layout: TokenizeTask['layout'];
  /** Texts per thread task. Default 64. */
  batchTexts?: number;
  /** A batch is also cut once its texts reach this many characters. Default 1 000 000. */
  batchChars?: number;
  signal?: AbortSignal;
}

/** Every record's ids, batch by batch in file order, and each record's label. */
export interface TokenizedSource {
  batches: TokenizeOutput[];
  /** Labels in record order; empty when the source does not require them. */
  labels: string[];
}

/**
 * Reads the source once and tokenizes it on the pool. Batches run in parallel up to the pool's
 * in-flight bound, which also bounds how much text is held in memory; results are reassembled in
 * file order so the split is independent of thread timing.
 */
export async function tokenizeSource(
  source: JsonlSource,
  options: TokenizeSourceOptions,
): Promise<TokenizedSource> {
  const { pool, tokenizer, layout, signal } = options;
  const batchTexts = options.batchTexts ?? 64;
  const batchChars = options.batchChars ?? 1_000_000;
  const pending: PendingBatch[] = [];
  const labels: string[] = [];
  let texts: string[] = [];
  let chars = 0;
  let failure: { error: unknown } | undefined;

  const flush = async (): Promise<void> => {
    if (texts.length === 0) return;
    const task: TokenizeTask = {
      ref: tokenizer.ref,
      files: tokenizer.files,
      sha256: tokenizer.sha256,
      texts,
      layout,
    };
    texts = [];
    chars = 0;
    const batch = await pool.enqueue(task, signal);
    batch.result.catch((error: unknown) => (failure ??= { error }));
    pending.push(batch);
  };

  for await (const record of source) {
    texts.push(record.text);
    chars += record.text.length;
    if (record.label !== null) labels.push(record.label);
    if (texts.length >= batchTexts || chars >= batchChars) await flush();
    // Stop reading at the first failed batch instead of tokenizing the rest of the file first.
    if (failure !== undefined) throw failure.error;
  }
  await flush();

  const batches: TokenizeOutput[] = [];
  for (const batch of pending) batches.push(await batch.result);
  return { batches, labels };
}
