import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShardFile } from './shard-manifest.js';

/** Bytes gathered before one write: large enough that syscalls do not matter. */
const BUFFER_BYTES = 1 << 20;

/**
 * Writes one shard file (little-endian int32) piece by piece, hashing as it goes, so a split of
 * any size is written with one buffer of memory. `close` returns its manifest entry.
 */
export class ShardArrayWriter {
  readonly #file: string;
  readonly #handle: FileHandle;
  readonly #hash: Hash = createHash('sha256');
  #buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  #used = 0;
  #bytes = 0;

  private constructor(file: string, handle: FileHandle) {
    this.#file = file;
    this.#handle = handle;
  }

  /** Creates `file` in `folder`, which must not hold it yet. */
  static async create(folder: string, file: string): Promise<ShardArrayWriter> {
    return new ShardArrayWriter(file, await open(join(folder, file), 'wx'));
  }

  /** Ids written so far. */
  get count(): number {
    return (this.#bytes + this.#used) / Int32Array.BYTES_PER_ELEMENT;
  }

  async append(values: Int32Array): Promise<void> {
    let bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    while (bytes.length > 0) {
      const take = Math.min(bytes.length, BUFFER_BYTES - this.#used);
      bytes.copy(this.#buffer, this.#used, 0, take);
      this.#used += take;
      bytes = bytes.subarray(take);
      if (this.#used === BUFFER_BYTES) await this.#flush();
    }
  }

  /** Flushes, closes and describes the file; `shape` must multiply out to `count`. */
  async close(shape: number[]): Promise<ShardFile> {
    try {
      await this.#flush();
    } finally {
      await this.#handle.close();
    }
    return {
      file: this.#file,
      dtype: 'int32',
      shape,
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
    };
  }

  /** Closes without describing, for a build that failed. */
  async abandon(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    const chunk = this.#buffer.subarray(0, this.#used);
    this.#hash.update(chunk);
    await this.#handle.write(chunk, 0, chunk.length);
    this.#bytes += chunk.length;
    // The old buffer may still be referenced by the write; start a fresh one.
    this.#buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    this.#used = 0;
  }
}
