import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { TaskTypeName } from '../contracts/index.js';

/**
 * Bump when the bytes written for the same inputs change (tokenization, split or layout), so
 * shards from older code are rebuilt instead of reused.
 */
export const INGEST_PIPELINE_VERSION = 1;

export interface CacheKeyParts {
  datasetSha256: string;
  tokenizerSha256: string;
  /** The tokenizer_config.json hash: it picks the pad and end-of-sequence ids. */
  tokenizerConfigSha256: string | null;
  seqLen: number;
  taskType: TaskTypeName;
  seed: number;
  valFraction: number;
}

/** The content address of a shard set: equal keys mean byte-identical shards. */
export function ingestCacheKey(parts: CacheKeyParts): string {
  const fields = [
    `v${INGEST_PIPELINE_VERSION}`,
    parts.datasetSha256,
    parts.tokenizerSha256,
    parts.tokenizerConfigSha256 ?? '-',
    String(parts.seqLen),
    parts.taskType,
    String(parts.seed),
    String(parts.valFraction),
  ];
  return createHash('sha256').update(fields.join('\n')).digest('hex');
}

/** sha256 of a file's bytes, streamed so large datasets are never held in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
