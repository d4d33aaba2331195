import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkGatherer, writeFully } from './chunk-gatherer.js';
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
  readonly #gatherer: ChunkGatherer;
  #bytes = 0;

  private constructor(file: string, handle: FileHandle) {
    this.#file = file;
    this.#handle = handle;
    this.#gatherer = new ChunkGatherer(BUFFER_BYTES, async (chunk) => {
      this.#hash.update(chunk);
      await writeFully(handle, chunk);
      this.#bytes += chunk.length;
    });
  }

  /** Creates `file` in `folder`, which must not hold it yet. */
  static async create(folder: string, file: string): Promise<ShardArrayWriter> {
    return new ShardArrayWriter(file, await open(join(folder, file), 'wx'));
  }

  /** Ids written so far. */
  get count(): number {
    return (this.#bytes + this.#gatherer.pending) / Int32Array.BYTES_PER_ELEMENT;
  }

  append(values: Int32Array): Promise<void> {
    return this.#gatherer.append(values);
  }

  /** Flushes, closes and describes the file; `shape` must multiply out to `count`. */
  async close(shape: number[]): Promise<ShardFile> {
    try {
      await this.#gatherer.flush();
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
}
