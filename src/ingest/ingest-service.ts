import type { Logger } from '../log/logger.js';
import { ingestDataset, type IngestOutcome } from './ingest-dataset.js';
import { IngestPool } from './ingest-pool.js';
import type { IngestRequest } from './ingest-request.js';

export interface IngestServiceOptions {
  cacheDir: string;
  logger: Logger;
  /** Tokenizer threads. Default `os.availableParallelism()`. */
  threads?: number;
}

/** The ingest side of the executor: one thread pool and one shard cache for every trial. */
export interface IngestService {
  ingest(request: IngestRequest, signal?: AbortSignal): Promise<IngestOutcome>;
  /** Stops the threads once running batches finish. Idempotent. */
  close(): Promise<void>;
}

export function createIngestService(options: IngestServiceOptions): IngestService {
  const pool = new IngestPool({ threads: options.threads });
  const { cacheDir, logger } = options;
  return {
    ingest: (request, signal) => ingestDataset(request, { pool, cacheDir, logger, signal }),
    close: () => pool.close('ingest service closed'),
  };
}
