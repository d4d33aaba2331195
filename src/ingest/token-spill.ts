import { closeSync, openSync, readSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Tokenized ids in file order, kept on disk between tokenizing and splitting. The split needs
 * every row's label before it can place any row, so ids wait here instead of in memory; memory
 * then holds only a few integers per row.
 *
 * Each batch's ids are written as they came from the thread, without a copy and without a hash:
 * the file never leaves the staging folder, and the shard files written from it are hashed.
 */
export class TokenSpill {
  readonly #path: string;
  readonly #writer: FileHandle;
  #count = 0;
  #closed = false;
  #fd: number | undefined;

  private constructor(path: string, writer: FileHandle) {
    this.#path = path;
    this.#writer = writer;
  }

  static async create(folder: string): Promise<TokenSpill> {
    const path = join(folder, 'spill.i32');
    return new TokenSpill(path, await open(path, 'wx'));
  }

  /** Ids appended so far. */
  get count(): number {
    return this.#count;
  }

  /** Appends `ids`, which must not change until the returned promise settles. */
  async append(ids: Int32Array): Promise<void> {
    const bytes = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.#writer.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
    this.#count += ids.length;
  }

  /** Ends writing; reads may start. */
  async seal(): Promise<void> {
    await this.#close();
    this.#fd = openSync(this.#path, 'r');
  }

  /**
   * Reads `count` ids starting at id `start` into `target`. Synchronous: rows are read by the
   * thousand from the page cache, and a promise per row would cost more than the read.
   */
  read(start: number, target: Int32Array): void {
    const bytes = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const position = start * Int32Array.BYTES_PER_ELEMENT + done;
      const read = readSync(this.#fd as number, bytes, done, bytes.length - done, position);
      if (read === 0) throw new Error(`spill ended at byte ${position}`);
      done += read;
    }
  }

  /** Lets other work run between batches of synchronous reads. */
  breathe(): Promise<void> {
    return yieldToLoop();
  }

  async remove(): Promise<void> {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    await this.#close().catch(() => undefined);
    await rm(this.#path, { force: true });
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
  }
}
