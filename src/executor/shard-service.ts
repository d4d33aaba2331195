import type { IngestService } from '../../actors/ingest-supervisor.js';
import { ingestDataset } from '../ingest/ingest-dataset.js';
import { IngestPool } from '../ingest/ingest-pool.js';
import type { Logger } from '../log/logger.js';
import type { IngestRequest, IngestResult } from '../trial/trial-ports.js';

export interface ShardServiceOptions {
  /** Folder of the content-addressed shard cache. */
  cacheDir: string;
  /** Tokenizer threads. Default: available parallelism. */
  threads?: number;
  logger: Logger;
}

/** The ingest pipeline behind the IngestSupervisor: one thread pool, one shard cache. */
export class ShardService implements IngestService {
  readonly #pool: IngestPool;

  constructor(private readonly options: ShardServiceOptions) {
    this.#pool = new IngestPool(options.threads ? { threads: options.threads } : {});
  }

  async ingest(request: IngestRequest): Promise<IngestResult> {
    const outcome = await ingestDataset(request, {
      pool: this.#pool,
      cacheDir: this.options.cacheDir,
      logger: this.options.logger,
    });
    this.options.logger.info('shards', {
      manifest: outcome.manifestPath,
      cacheHit: outcome.cacheHit,
      ...outcome.stats,
    });
    return {
      manifestPath: outcome.manifestPath,
      manifest: outcome.manifest,
      cacheHit: outcome.cacheHit,
    };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
