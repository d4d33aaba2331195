import { isMainThread } from 'node:worker_threads';

/**
 * Turns off the native tokenizer library's own parallelism unless the operator set it.
 *
 * The library spreads `encodeBatch` over a rayon pool of one thread per core whenever the
 * environment variable `TOKENIZERS_PARALLELISM` is unset or true. Ingest already runs one encode
 * per thread of its own pool, so N ingest threads would then start N × cores encoding threads and
 * a one-thread pool would use every core. With it off, N threads use N cores.
 *
 * The library reads the variable from the process environment on each batch. A worker thread's
 * `process.env` is a private copy that never reaches that environment, so only the main thread can
 * set it: IngestPool does so before it starts a thread, and so does a tokenizer built on the main
 * thread (the bench's raw measurement, tests).
 */
export function keepTokenizerLibrarySerial(): void {
  if (isMainThread) process.env['TOKENIZERS_PARALLELISM'] ??= 'false';
}
