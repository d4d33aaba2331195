import type { IngestService } from '../../actors/ingest-supervisor.js';
import type { S3Config } from '../config/config.js';
import { ingestDataset, type IngestOutcome } from '../ingest/ingest-dataset.js';
import type { IngestProgress } from '../ingest/ingest-outcome.js';
import { IngestPool } from '../ingest/ingest-pool.js';
import type { IngestRequest as FullIngestRequest } from '../ingest/ingest-request.js';
import { S3ShardMirror } from '../ingest/s3-shard-mirror.js';
import { S3Objects, type IngestS3Options } from '../ingest/sources/s3-objects.js';
import type { Logger } from '../log/logger.js';
import type { IngestRequest, IngestResult } from '../trial/trial-ports.js';

export interface ShardServiceOptions {
  /** Folder of the content-addressed shard cache. */
  cacheDir: string;
  /** Tokenizer threads. Default: available parallelism. */
  threads?: number;
  /**
   * S3 settings: enable `s3://` datasets and tokenizers and, unless `s3Cache` is false, mirror
   * the shard cache under `<prefix>/shards/` for other executors. Default none (local only).
   */
  s3?: S3Config;
  /** Mirror shards to S3 when `s3` is set. Default true. */
  s3Cache?: boolean;
  logger: Logger;
}

/** The ingest pipeline behind the IngestSupervisor: one thread pool, one shard cache. */
export class ShardService implements IngestService {
  readonly #pool: IngestPool;
  readonly #s3: S3Objects | undefined;
  readonly #mirror: S3ShardMirror | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: ShardServiceOptions) {
    this.#pool = new IngestPool(options.threads ? { threads: options.threads } : {});
    const s3 = options.s3 === undefined ? undefined : s3Options(options.s3);
    this.#s3 = s3 === undefined ? undefined : new S3Objects(s3);
    if (s3 !== undefined && this.#s3 !== undefined && options.s3Cache !== false) {
      this.#mirror = new S3ShardMirror(s3, this.#s3, options.logger);
    }
  }

  async ingest(request: IngestRequest): Promise<IngestResult> {
    const outcome = await this.prepare(request);
    return {
      manifestPath: outcome.manifestPath,
      manifest: outcome.manifest,
      cacheHit: outcome.cacheHit,
    };
  }

  /** The full outcome, with stats and progress, for callers other than trials (the CLI). */
  async prepare(
    request: FullIngestRequest,
    onProgress?: (progress: IngestProgress) => void,
    signal?: AbortSignal,
  ): Promise<IngestOutcome> {
    const outcome = await ingestDataset(request, {
      pool: this.#pool,
      cacheDir: this.options.cacheDir,
      logger: this.options.logger,
      ...(this.#s3 ? { s3: this.#s3 } : {}),
      ...(this.#mirror ? { mirror: this.#mirror } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    this.options.logger.info('shards', {
      manifest: outcome.manifestPath,
      cacheHit: outcome.cacheHit,
      source: outcome.source,
      ...outcome.stats,
    });
    return outcome;
  }

  /** Stops the threads and S3 connections. Idempotent: returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#pool.close(),
      this.#mirror?.close(),
      this.#s3?.close(),
    ]).then(() => undefined);
    return this.#closing;
  }
}

function s3Options(config: S3Config): IngestS3Options {
  const { endpoint, region, accessKeyId, secretAccessKey, bucket, prefix } = config;
  return { endpoint, region, credentials: { accessKeyId, secretAccessKey }, bucket, prefix };
}
