import { closeSync, openSync, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ShardArrayWriter } from './shard-array-writer.js';

/**
 * Tokenized ids in file order, kept on disk between tokenizing and splitting. The split needs
 * every row's label before it can place any row, so ids wait here instead of in memory; memory
 * then holds only a few integers per row.
 */
export class TokenSpill {
  readonly #path: string;
  readonly #writer: ShardArrayWriter;
  #fd: number | undefined;

  private constructor(path: string, writer: ShardArrayWriter) {
    this.#path = path;
    this.#writer = writer;
  }

  static async create(folder: string): Promise<TokenSpill> {
    const file = 'spill.i32';
    return new TokenSpill(join(folder, file), await ShardArrayWriter.create(folder, file));
  }

  /** Ids appended so far. */
  get count(): number {
    return this.#writer.count;
  }

  append(ids: Int32Array): Promise<void> {
    return this.#writer.append(ids);
  }

  /** Ends writing; reads may start. */
  async seal(): Promise<void> {
    await this.#writer.close([this.#writer.count]);
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
    await this.#writer.abandon();
    await rm(this.#path, { force: true });
  }
}
