import { closeSync, openSync, readSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ChunkGatherer, writeFully } from './chunk-gatherer.js';

/** Bytes gathered before one write. */
const WRITE_BYTES = 1 << 20;

/**
 * Tokenized ids in file order, kept on disk between tokenizing and splitting. The split needs
 * every row's label before it can place any row, so ids wait here instead of in memory; memory
 * then holds only a few integers per row.
 *
 * Ids are gathered into 1 MiB writes, without a hash: the file never leaves the staging folder,
 * and the shard files written from it are hashed. One write per batch cost the main thread about
 * ten times as much on SpamAssassin (6,046 rows in 95 batches), where the main thread is what two
 * ingest threads compete with for the cores.
 */
export class TokenSpill {
  readonly #path: string;
  readonly #writer: FileHandle;
  readonly #gatherer: ChunkGatherer;
  #count = 0;
  #closed = false;
  #fd: number | undefined;

  private constructor(path: string, writer: FileHandle) {
    this.#path = path;
    this.#writer = writer;
    this.#gatherer = new ChunkGatherer(WRITE_BYTES, (chunk) => writeFully(writer, chunk));
  }

  static async create(folder: string): Promise<TokenSpill> {
    const path = join(folder, 'spill.i32');
    return new TokenSpill(path, await open(path, 'wx'));
  }

  /** Ids appended so far. */
  get count(): number {
    return this.#count;
  }

  /** Appends a copy of `ids`; the caller may reuse them at once. */
  async append(ids: Int32Array): Promise<void> {
    await this.#gatherer.append(ids);
    this.#count += ids.length;
  }

  /** Ends writing; reads may start. */
  async seal(): Promise<void> {
    await this.#gatherer.flush();
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
