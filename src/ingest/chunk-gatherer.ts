import type { FileHandle } from 'node:fs/promises';

/**
 * Gathers appended bytes into chunks of a fixed size and hands each full chunk to `flush`, so
 * that a file written piece by piece costs one write per chunk rather than one per piece. The
 * chunk is reused once `flush` has settled, so `flush` must be done with it by then.
 */
export class ChunkGatherer {
  readonly #chunk: Buffer;
  readonly #flush: (chunk: Buffer) => Promise<void>;
  #used = 0;

  constructor(size: number, flush: (chunk: Buffer) => Promise<void>) {
    this.#chunk = Buffer.allocUnsafe(size);
    this.#flush = flush;
  }

  /** Bytes appended but not yet flushed. */
  get pending(): number {
    return this.#used;
  }

  /** Copies `values` in, flushing each chunk it fills; `values` may be reused at once. */
  async append(values: ArrayBufferView): Promise<void> {
    let bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    while (bytes.length > 0) {
      const take = Math.min(bytes.length, this.#chunk.length - this.#used);
      bytes.copy(this.#chunk, this.#used, 0, take);
      this.#used += take;
      bytes = bytes.subarray(take);
      if (this.#used === this.#chunk.length) await this.flush();
    }
  }

  /** Flushes what is gathered, if anything. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#flush(this.#chunk.subarray(0, this.#used));
    this.#used = 0;
  }
}

/** Writes all of `bytes` at the file's current position, however many writes that takes. */
export async function writeFully(handle: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
  }
}
