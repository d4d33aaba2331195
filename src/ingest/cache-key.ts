import { createHash } from 'node:crypto';
import type { TaskTypeName } from '../contracts/index.js';

/**
 * Bump when the bytes written for the same inputs change (tokenization, split or layout), so
 * shards from older code are rebuilt instead of reused. 2: reading options joined the key.
 * 3: special tokens' text in the data is encoded as text; labels are trimmed.
 */
export const INGEST_PIPELINE_VERSION = 3;

export interface CacheKeyParts {
  /** sha256 of the dataset's stored bytes. */
  datasetSha256: string;
  /** How the bytes were read: format, text field, label field. */
  reading: string;
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
    parts.reading,
    parts.tokenizerSha256,
    parts.tokenizerConfigSha256 ?? '-',
    String(parts.seqLen),
    parts.taskType,
    String(parts.seed),
    String(parts.valFraction),
  ];
  return sha256Hex(fields.join('\n'));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
