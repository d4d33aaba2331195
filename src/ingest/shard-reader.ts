import { createHash } from 'node:crypto';
import { readFile, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  SHARD_FORMAT,
  type ShardFile,
  type ShardManifest,
  type ShardSplit,
} from './shard-manifest.js';
import { checkShardHash, checkShardSize, shardCorrupt } from './shard-checks.js';
import { ShardRowFile } from './shard-rows.js';

/** One split's arrays as read from disk. */
export interface ShardSplitData {
  rows: number;
  tokens: Int32Array;
  labels?: Int32Array;
  lengths?: Int32Array;
}

export interface LoadedShards {
  manifest: ShardManifest;
  train: ShardSplitData;
  validation: ShardSplitData;
}

/**
 * Reads a manifest and its shards, checking every file's size, shape and sha256. Anything that
 * does not match is SHARD_CORRUPT naming the file.
 */
export async function readShards(manifestPath: string): Promise<LoadedShards> {
  const manifest = await readManifest(manifestPath);
  const dir = dirname(manifestPath);
  return {
    manifest,
    train: await readSplit(dir, manifest.splits.train),
    validation: await readSplit(dir, manifest.splits.validation),
  };
}

/** One split with its tokens left on disk, read a batch at a time. */
export interface ShardSplitRows {
  rows: number;
  tokens: ShardRowFile;
  labels?: Int32Array;
  lengths?: Int32Array;
}

export interface OpenedShards {
  manifest: ShardManifest;
  train: ShardSplitRows;
  validation: ShardSplitRows;
}

/**
 * Like `readShards`, but each split's tokens stay in their file and are read by row
 * (`ShardRowFile`); labels and lengths, four bytes a row, are read whole. Every file is checked
 * by size and sha256 as it is opened, and each token id by `checkTokens` when given.
 */
export async function openShards(
  manifestPath: string,
  checkTokens?: (ids: Int32Array, split: 'train' | 'validation') => void,
): Promise<OpenedShards> {
  const manifest = await readManifest(manifestPath);
  const dir = dirname(manifestPath);
  const open = async (name: 'train' | 'validation'): Promise<ShardSplitRows> => {
    const split = manifest.splits[name];
    const columns = split.tokens.shape[1] ?? 1;
    const check = checkTokens && ((ids: Int32Array) => checkTokens(ids, name));
    const opened: ShardSplitRows = {
      rows: split.rows,
      tokens: await ShardRowFile.open(dir, split.tokens, columns, check),
    };
    if (split.labels !== undefined) opened.labels = await readArray(dir, split.labels);
    if (split.lengths !== undefined) opened.lengths = await readArray(dir, split.lengths);
    return opened;
  };
  const train = await open('train');
  const validation = await open('validation').catch(async (error: unknown) => {
    await train.tokens.close();
    throw error;
  });
  return { manifest, train, validation };
}

/** Parses manifest.json and checks its format; SHARD_CORRUPT when it is unreadable or foreign. */
export async function readManifest(manifestPath: string): Promise<ShardManifest> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw shardCorrupt(
      `${manifestPath} cannot be read as JSON: ${(error as Error).message}`,
      error,
    );
  }
  const manifest = value as Partial<ShardManifest> | null;
  if (manifest?.format !== SHARD_FORMAT) {
    throw shardCorrupt(
      `${manifestPath}: format must be "${SHARD_FORMAT}", got ${JSON.stringify(manifest?.format)}`,
    );
  }
  if (
    manifest.splits?.train?.tokens === undefined ||
    manifest.splits.validation?.tokens === undefined
  ) {
    throw shardCorrupt(
      `${manifestPath}: splits.train.tokens and splits.validation.tokens are required`,
    );
  }
  return manifest as ShardManifest;
}

/**
 * Dates a verified shard set so that any later write shows: shard files one second before now,
 * manifest.json just before now. A file written afterwards gets a modification time at least
 * that of the manifest, and `findShardProblem` flags it. The margins cover file systems whose
 * clock for timestamps lags the wall clock by a scheduler tick.
 */
export async function settleShardTimes(dir: string, manifest: ShardManifest): Promise<void> {
  const now = Date.now();
  const files = new Date(now - 1000);
  for (const file of listFiles(manifest)) await utimes(join(dir, file.file), files, files);
  const stamp = new Date(now - 50);
  await utimes(join(dir, 'manifest.json'), stamp, stamp);
}

/**
 * A cheap check for a cache hit: every file listed exists with the listed size and is older than
 * manifest.json (see `settleShardTimes`). Returns the first problem, or null. A file written
 * after publishing (a damaged or tampered shard) is not; `verifyShardFiles` then decides by
 * checksum.
 */
export async function findShardProblem(
  dir: string,
  manifest: ShardManifest,
): Promise<string | null> {
  const manifestPath = join(dir, 'manifest.json');
  const published = await stat(manifestPath).then(
    (s) => s.mtimeMs,
    () => null,
  );
  if (published === null) return `${manifestPath} is missing`;
  for (const file of listFiles(manifest)) {
    const path = join(dir, file.file);
    const info = await stat(path).then(
      (s) => s,
      () => null,
    );
    if (info === null) return `${path} is missing`;
    if (info.size !== file.bytes)
      return `${path} holds ${info.size} bytes; manifest says ${file.bytes}`;
    if (info.mtimeMs >= published) return `${path} was modified after the manifest was written`;
  }
  return null;
}

/** Hashes every shard file and compares it with the manifest; the first problem, or null. */
export async function verifyShardFiles(
  dir: string,
  manifest: ShardManifest,
): Promise<string | null> {
  for (const file of listFiles(manifest)) {
    try {
      await readArray(dir, file);
    } catch (error) {
      return (error as Error).message;
    }
  }
  return null;
}

/**
 * Expands a split's `lengths` into a row-major 0/1 attention mask of `rows × columns` bytes. The
 * shards store only lengths, a quarter of a mask's size, because padding is always at the end.
 */
export function attentionMask(lengths: Int32Array, columns: number): Uint8Array {
  const mask = new Uint8Array(lengths.length * columns);
  lengths.forEach((length, row) => mask.fill(1, row * columns, row * columns + length));
  return mask;
}

function listFiles(manifest: ShardManifest): ShardFile[] {
  return [manifest.splits.train, manifest.splits.validation].flatMap((split) =>
    [split.tokens, split.labels, split.lengths].filter((f): f is ShardFile => f !== undefined),
  );
}

async function readSplit(dir: string, split: ShardSplit): Promise<ShardSplitData> {
  const data: ShardSplitData = { rows: split.rows, tokens: await readArray(dir, split.tokens) };
  if (split.labels !== undefined) data.labels = await readArray(dir, split.labels);
  if (split.lengths !== undefined) data.lengths = await readArray(dir, split.lengths);
  return data;
}

async function readArray(dir: string, file: ShardFile): Promise<Int32Array> {
  const path = join(dir, file.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw shardCorrupt(`${path} cannot be read: ${(error as Error).message}`, error);
  }
  checkShardSize(path, bytes.byteLength, file);
  checkShardHash(path, createHash('sha256').update(bytes).digest('hex'), file);
  const count = bytes.byteLength / Int32Array.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Int32Array.BYTES_PER_ELEMENT === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, count);
  }
  // Node may hand back a slice of a shared pool at an offset an Int32Array cannot start at.
  const copy = new Int32Array(count);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}
