import type { IngestPool, PendingBatch } from './ingest-pool.js';
import type { LoadedTokenizer } from './loaded-tokenizer.js';
import type { DatasetRecord } from './sources/record-parsers.js';
import type { TokenEncoder } from './token-encoder.js';
import type { TokenizeOutput, TokenizeTask } from './tokenize-task.js';

export interface TokenizeSourceOptions {
  pool: IngestPool;
  tokenizer: LoadedTokenizer;
  backend: TokenEncoder['backend'];
  layout: TokenizeTask['layout'];
  /** Receives each batch's ids, in file order, with the labels of its records. */
  consume: (output: TokenizeOutput, labels: string[]) => Promise<void>;
  /** Texts per thread task. Default 64. */
  batchTexts?: number;
  /** A batch is also cut once its texts reach this many characters. Default 256 000. */
  batchChars?: number;
  signal?: AbortSignal;
}

export interface TokenizeTotals {
  texts: number;
  /** Real (unpadded) ids produced, end-of-sequence marks included. */
  tokens: number;
}

const DEFAULT_BATCH_TEXTS = 64;
const DEFAULT_BATCH_CHARS = 256_000;

/**
 * Cuts texts into batches the way `tokenizeSource` does with its default limits. The bench's raw
 * measurement encodes these batches, so that it makes the same library calls as the pipeline.
 */
export function* batchesOf(texts: Iterable<string>): Generator<string[]> {
  let batch: string[] = [];
  let chars = 0;
  for (const text of texts) {
    batch.push(text);
    chars += text.length;
    if (batchFull(batch.length, chars, DEFAULT_BATCH_TEXTS, DEFAULT_BATCH_CHARS)) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

function batchFull(texts: number, chars: number, maxTexts: number, maxChars: number): boolean {
  return texts >= maxTexts || chars >= maxChars;
}

interface Queued {
  batch: PendingBatch;
  labels: string[];
}

/**
 * Reads the records once and tokenizes them on the pool. Batches run in parallel up to the pool's
 * in-flight bound, and finished batches are handed to `consume` in file order as soon as the
 * oldest is done. Up to as many finished batches again may wait for an older one, so that a
 * thread that got a quick batch goes on while another works through a long one. At most
 * `maxInFlight` batches of texts and `2 × maxInFlight` of ids are held at any time, whatever the
 * size of the corpus.
 */
export async function tokenizeSource(
  records: AsyncIterable<DatasetRecord>,
  options: TokenizeSourceOptions,
): Promise<TokenizeTotals> {
  const { pool, tokenizer, signal } = options;
  const batchTexts = options.batchTexts ?? DEFAULT_BATCH_TEXTS;
  const batchChars = options.batchChars ?? DEFAULT_BATCH_CHARS;
  const queue: Queued[] = [];
  const totals: TokenizeTotals = { texts: 0, tokens: 0 };
  let texts: string[] = [];
  let labels: string[] = [];
  let chars = 0;

  const drainOne = async (): Promise<void> => {
    const head = queue.shift() as Queued;
    const output = await head.batch.result;
    totals.texts += output.lengths.length;
    for (const length of output.lengths) totals.tokens += length;
    await options.consume(output, head.labels);
  };

  const flush = async (): Promise<void> => {
    if (texts.length === 0) return;
    const task: TokenizeTask = {
      ref: tokenizer.ref,
      files: tokenizer.files,
      sha256: tokenizer.sha256,
      backend: options.backend,
      wordBounded: tokenizer.wordBounded,
      texts,
      layout: options.layout,
    };
    queue.push({ batch: await pool.enqueue(task, signal), labels });
    texts = [];
    labels = [];
    chars = 0;
    while (queue.length > 2 * pool.maxInFlight) await drainOne();
  };

  try {
    for await (const record of records) {
      texts.push(record.text);
      chars += record.text.length;
      if (record.label !== null) labels.push(record.label);
      if (batchFull(texts.length, chars, batchTexts, batchChars)) await flush();
    }
    await flush();
    while (queue.length > 0) await drainOne();
  } finally {
    // On failure, let batches still running finish quietly; their results are dropped.
    for (const queued of queue) queued.batch.result.catch(() => undefined);
  }
  return totals;
}
