import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import {
  SHARD_FORMAT,
  type ShardFile,
  type ShardManifest,
  type ShardSplit,
} from './shard-manifest.js';

/** One split's rows in memory. */
export interface SplitArrays {
  rows: number;
  /** Row-major, `rows × manifest.seq_len` ids. */
  tokens: Int32Array;
  labels?: Int32Array;
  lengths?: Int32Array;
}

/** Everything in the manifest that the writer does not fill in itself. */
export type ManifestHeader = Omit<ShardManifest, 'format' | 'splits' | 'created_at'>;

export interface WriteShardsRequest {
  /** The folder to create; it must not exist yet. */
  dir: string;
  header: ManifestHeader;
  train: SplitArrays;
  validation: SplitArrays;
  /** Default: now. */
  createdAt?: Date;
}

export interface WrittenShards {
  manifestPath: string;
  manifest: ShardManifest;
  /** True when another writer created `dir` first and its shards were kept instead. */
  reused: boolean;
}

/**
 * Writes int32 shards and manifest.json into a temporary sibling folder, then renames it to
 * `dir`, so readers see either nothing or a complete set. If another process wins the race for
 * the same `dir`, its folder is kept and ours is removed.
 */
export async function writeShards(request: WriteShardsRequest): Promise<WrittenShards> {
  // Shards are raw little-endian int32; a big-endian host would write unreadable files.
  if (endianness() !== 'LE') {
    throw new AutomatError(ErrorCodes.INTERNAL, 'shards are little-endian; this host is not');
  }
  const { dir } = request;
  const staging = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomUUID()}`);
  await mkdir(staging, { recursive: true });
  try {
    const manifest = await writeContents(staging, request);
    const published = await publish(staging, dir);
    const manifestPath = join(dir, 'manifest.json');
    if (published) return { manifestPath, manifest, reused: false };
    const existing = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardManifest;
    return { manifestPath, manifest: existing, reused: true };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function writeContents(folder: string, request: WriteShardsRequest): Promise<ShardManifest> {
  const columns = request.header.seq_len;
  const manifest: ShardManifest = {
    format: SHARD_FORMAT,
    ...request.header,
    splits: {
      train: await writeSplit(folder, 'train', request.train, columns),
      validation: await writeSplit(folder, 'validation', request.validation, columns),
    },
    created_at: (request.createdAt ?? new Date()).toISOString(),
  };
  await writeFile(join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function writeSplit(
  folder: string,
  name: string,
  split: SplitArrays,
  columns: number,
): Promise<ShardSplit> {
  if (split.tokens.length !== split.rows * columns) {
    throw new AutomatError(
      ErrorCodes.INTERNAL,
      `${name} tokens hold ${split.tokens.length} ids; expected ${split.rows} rows × ${columns}`,
    );
  }
  const result: ShardSplit = {
    rows: split.rows,
    tokens: await writeArray(folder, `${name}.tokens.i32`, split.tokens, [split.rows, columns]),
  };
  if (split.labels !== undefined) {
    result.labels = await writeArray(folder, `${name}.labels.i32`, split.labels, [split.rows]);
  }
  if (split.lengths !== undefined) {
    result.lengths = await writeArray(folder, `${name}.lengths.i32`, split.lengths, [split.rows]);
  }
  return result;
}

async function writeArray(
  folder: string,
  file: string,
  values: Int32Array,
  shape: number[],
): Promise<ShardFile> {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  await writeFile(join(folder, file), bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { file, dtype: 'int32', shape, bytes: bytes.byteLength, sha256 };
}

/** Renames `staging` to `dir`; false when `dir` already exists (another writer won). */
async function publish(staging: string, dir: string): Promise<boolean> {
  try {
    await rename(staging, dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EPERM') return false;
    throw error;
  }
}
