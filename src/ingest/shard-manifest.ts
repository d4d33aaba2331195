import type { TaskTypeName } from '../contracts/index.js';

/**
 * The description written beside a set of token shards (`manifest.json`). It is the contract
 * between the ingest pipeline, which writes shards, and training workers, which read them.
 * File names are relative to the folder that holds the manifest.
 */
export interface ShardManifest {
  format: 'automat0.shards/v1';
  /** Content-addressed cache key: dataset hash, tokenizer hash, seq_len, task type, split seed. */
  key: string;
  task_type: TaskTypeName;
  /** Columns per row: `seq_len` for classification, `seq_len + 1` for generation blocks. */
  seq_len: number;
  tokenizer: {
    ref: string;
    sha256: string;
    vocab_size: number;
    /** Id written into padded positions; `lengths` tells real tokens from padding. */
    pad_id: number;
  };
  dataset: {
    uri: string;
    /** sha256 of the stored bytes (compressed bytes for a gzip file). */
    sha256: string;
    /** Examples accepted (classification) or documents read (generation). */
    rows: number;
    bad_lines: number;
    /**
     * The first few bad lines and why each was skipped, so that a request refused on a cache hit
     * can still name them. Since v1.2.
     */
    first_bad?: Array<{ line: number; reason: string }>;
    /** The file name without folders and extensions, e.g. `spam-assassin`. Since v1.1. */
    name?: string;
    /** The first 12 hex digits of `sha256`: equal versions mean equal bytes. Since v1.1. */
    version?: string;
    /** Since v1.1. */
    format?: 'jsonl' | 'csv' | 'tsv' | 'text';
    /** Whether the stored bytes are gzip-compressed. Since v1.1. */
    gzip?: boolean;
    /** Stored bytes. Since v1.1. */
    bytes?: number;
    /** Where text and label were read from. Since v1.1. */
    schema?: { text: string; label: string | null };
  };
  /** Tokenization facts of the build. Since v1.1; older manifests lack it. */
  stats?: {
    /** Real (unpadded) tokens written over both splits. */
    tokens: number;
    /** Classification rows cut at seq_len. */
    truncated: number;
    /** Which tokenizer implementation encoded them (ids are the same for both). */
    backend: 'native' | 'js';
  };
  /** Classification: label index → label name, sorted. Generation: empty. */
  labels: string[];
  split: { seed: number; val_fraction: number };
  splits: { train: ShardSplit; validation: ShardSplit };
  created_at: string;
}

export interface ShardSplit {
  rows: number;
  /** Row-major int32 token ids, `rows × columns`. */
  tokens: ShardFile;
  /** Classification only: one int32 label index per row. */
  labels?: ShardFile;
  /**
   * Classification only: one int32 count of real (unpadded) tokens per row. It is the attention
   * mask in compact form: position `p` of row `r` is attended to when `p < lengths[r]`; see
   * `attentionMask` in shard-reader.ts.
   */
  lengths?: ShardFile;
}

export interface ShardFile {
  file: string;
  dtype: 'int32';
  shape: number[];
  bytes: number;
  sha256: string;
}

export const SHARD_FORMAT = 'automat0.shards/v1';
