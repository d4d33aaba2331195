import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { ShardArrayWriter } from './shard-array-writer.js';
import { settleShardTimes } from './shard-reader.js';
import { stagingName } from './staging-sweep.js';
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
 * Writes shards from arrays in memory into `dir`: everything goes to a temporary sibling folder
 * first, which is renamed into place, so `dir` either does not exist or is complete. The
 * ingest pipeline streams instead (see StagedShards); this form serves tests and tools.
 */
export async function writeShards(request: WriteShardsRequest): Promise<WrittenShards> {
  const staged = await StagedShards.create(dirname(request.dir));
  try {
    const columns = request.header.seq_len;
    const train = await writeSplit(staged.folder, 'train', request.train, columns);
    const validation = await writeSplit(staged.folder, 'validation', request.validation, columns);
    const splits = { train, validation };
    return await staged.publish(request.dir, request.header, splits, request.createdAt);
  } finally {
    await staged.discard();
  }
}

/**
 * A shard set being written: a temporary folder beside its final place, published by one
 * rename, so readers never see a half-written set (no torn files, even across processes).
 */
export class StagedShards {
  private constructor(readonly folder: string) {}

  /**
   * A fresh temporary folder in `parent`, which must be on the same file system as the final
   * folder (the rename is what makes publishing atomic). Its name starts with a dot.
   */
  static async create(parent: string): Promise<StagedShards> {
    // Shards are raw little-endian int32; a big-endian host would write unreadable files.
    if (endianness() !== 'LE') {
      throw new AutomatError(ErrorCodes.INTERNAL, 'shards are little-endian; this host is not');
    }
    const folder = join(parent, stagingName(randomUUID()));
    await mkdir(folder, { recursive: true });
    return new StagedShards(folder);
  }

  /**
   * Writes manifest.json, dates the files (see settleShardTimes), then renames the
   * folder into place as `dir`. When another writer published `dir` first, its shards are kept.
   */
  async publish(
    dir: string,
    header: ManifestHeader,
    splits: { train: ShardSplit; validation: ShardSplit },
    createdAt = new Date(),
  ): Promise<WrittenShards> {
    const manifest: ShardManifest = {
      format: SHARD_FORMAT,
      ...header,
      splits,
      created_at: createdAt.toISOString(),
    };
    await writeFile(join(this.folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await settleShardTimes(this.folder, manifest);
    const manifestPath = join(dir, 'manifest.json');
    if (await renameUnlessTaken(this.folder, dir)) {
      return { manifestPath, manifest, reused: false };
    }
    const existing = JSON.parse(await readFile(manifestPath, 'utf8')) as ShardManifest;
    return { manifestPath, manifest: existing, reused: true };
  }

  /** Removes what is left of the temporary folder; harmless after a publish. */
  async discard(): Promise<void> {
    await rm(this.folder, { recursive: true, force: true });
  }
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
  const writer = await ShardArrayWriter.create(folder, file);
  await writer.append(values);
  return writer.close(shape);
}

/** Renames `staging` to `dir`; false when `dir` already exists (another writer won). */
async function renameUnlessTaken(staging: string, dir: string): Promise<boolean> {
  try {
    await rename(staging, dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EPERM') return false;
    throw error;
  }
}
