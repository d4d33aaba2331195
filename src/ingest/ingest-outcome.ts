import type { Logger } from '../log/logger.js';
import type { IngestPool } from './ingest-pool.js';
import type { S3ShardMirror } from './s3-shard-mirror.js';
import type { ShardManifest } from './shard-manifest.js';
import type { S3Objects } from './sources/s3-objects.js';

/** How far a build has got; reported after every tokenized batch. */
export interface IngestProgress {
  /** Stored bytes read (compressed bytes for gzip) and the file's size. */
  bytesRead: number;
  bytesTotal: number;
  lines: number;
  records: number;
  badLines: number;
  /** Real tokens produced so far. */
  tokens: number;
}

export interface IngestContext {
  pool: IngestPool;
  /** Folder holding one sub-folder of shards per cache key, plus `index/` and `tokenizers/`. */
  cacheDir: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Reads `s3://` datasets and tokenizers; without it they are refused. */
  s3?: S3Objects;
  /** The shared second cache tier; without it the cache is local only. */
  mirror?: S3ShardMirror;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestStats {
  /** Lines of the dataset, blank ones included (good + bad on a cache hit). */
  lines: number;
  /** Examples (classification) or documents (generation) accepted. */
  rows: number;
  bad_lines: number;
  /** Real tokens written into shards by this call; 0 on a cache hit, which writes none. */
  tokens: number;
  /** Stored bytes read by this call; 0 on a cache hit. */
  bytes: number;
  /** Wall time of this call. */
  ms: number;
}

export interface IngestOutcome {
  manifestPath: string;
  manifest: ShardManifest;
  /** True when finished shards were found (locally or in S3). A call that joined a build is not. */
  cacheHit: boolean;
  /** Where the shards came from: `local` or `s3` cache, or `built` by this call. */
  source: 'local' | 's3' | 'built';
  stats: IngestStats;
}

export type BuildOutcome = Omit<IngestOutcome, 'stats'> & { stats: Omit<IngestStats, 'ms'> };
