import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkShardHash, checkShardSize, shardCorrupt } from './shard-checks.js';
import type { ShardFile } from './shard-manifest.js';

/** Rows of token ids, `columns` wide, that a trainer takes a batch at a time. */
export interface TokenRows {
  readonly rows: number;
  readonly columns: number;
  /** Copies row `row` into `target`, starting at index `at`. */
  copyRow(row: number, target: Int32Array, at: number): void;
  /** Rows `start .. start + count)` as one array of `count × columns` ids. */
  readRows(start: number, count: number): Int32Array;
  /** Releases the file, if any. Idempotent. */
  close(): Promise<void>;
}

/** Bytes read per step while a shard file is checked: a multiple of 4, so values never split. */
const CHECK_CHUNK_BYTES = 1 << 20;

/**
 * A token shard read a row at a time, with positional reads, instead of whole: the worker's
 * memory then holds a batch, not the dataset, and the operating system's page cache serves the
 * same rows to every worker training on the same shards.
 *
 * Opening streams the file once through a fixed buffer to check its size and sha256 against the
 * manifest, and each value with `checkValues` when given; a mismatch is SHARD_CORRUPT naming the
 * file. Later changes to the file are not noticed: the cache publishes shards once and never
 * rewrites them in place.
 */
export class ShardRowFile implements TokenRows {
  readonly rows: number;
  readonly columns: number;
  readonly #path: string;
  readonly #handle: FileHandle;
  #closed: Promise<void> | undefined;

  private constructor(path: string, handle: FileHandle, rows: number, columns: number) {
    this.#path = path;
    this.#handle = handle;
    this.rows = rows;
    this.columns = columns;
  }

  static async open(
    dir: string,
    file: ShardFile,
    columns: number,
    checkValues?: (values: Int32Array) => void,
  ): Promise<ShardRowFile> {
    const path = join(dir, file.file);
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw shardCorrupt(`${path} cannot be read: ${(error as Error).message}`, error);
    });
    try {
      await checkFile(path, handle, file, checkValues);
    } catch (error) {
      await handle.close();
      throw error;
    }
    const rows = file.bytes / Int32Array.BYTES_PER_ELEMENT / columns;
    return new ShardRowFile(path, handle, rows, columns);
  }

  copyRow(row: number, target: Int32Array, at: number): void {
    this.#read(row, 1, target, at);
  }

  readRows(start: number, count: number): Int32Array {
    const rows = new Int32Array(count * this.columns);
    this.#read(start, count, rows, 0);
    return rows;
  }

  close(): Promise<void> {
    this.#closed ??= this.#handle.close();
    return this.#closed;
  }

  #read(start: number, count: number, target: Int32Array, at: number): void {
    const size = Int32Array.BYTES_PER_ELEMENT;
    const bytes = count * this.columns * size;
    const into = new Uint8Array(target.buffer, target.byteOffset + at * size, bytes);
    let done = 0;
    while (done < bytes) {
      const position = start * this.columns * size + done;
      const read = readSync(this.#handle.fd, into, done, bytes - done, position);
      if (read === 0) {
        throw shardCorrupt(`${this.#path} ended before row ${start + count} of ${this.rows}`);
      }
      done += read;
    }
  }
}

async function checkFile(
  path: string,
  handle: FileHandle,
  file: ShardFile,
  checkValues: ((values: Int32Array) => void) | undefined,
): Promise<void> {
  const { size } = await handle.stat();
  checkShardSize(path, size, file);
  const hash = createHash('sha256');
  const chunk = new Int32Array(CHECK_CHUNK_BYTES / Int32Array.BYTES_PER_ELEMENT);
  const bytes = new Uint8Array(chunk.buffer);
  for (let position = 0; position < size;) {
    const want = Math.min(bytes.length, size - position);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await handle.read(bytes, filled, want - filled, position + filled);
      if (bytesRead === 0) throw shardCorrupt(`${path} ended at byte ${position + filled}`);
      filled += bytesRead;
    }
    hash.update(bytes.subarray(0, want));
    checkValues?.(chunk.subarray(0, want / Int32Array.BYTES_PER_ELEMENT));
    position += want;
  }
  checkShardHash(path, hash.digest('hex'), file);
}
