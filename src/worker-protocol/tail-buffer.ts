/**
 * Keeps the last `limitBytes` bytes written to it, so a chatty or crashing process cannot make
 * the parent hold its whole stderr. The cut may fall inside a UTF-8 sequence; `text()` then
 * shows one replacement character at the start.
 */
export class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(limitBytes: number) {
    this.#limit = limitBytes;
  }

  write(chunk: Buffer): void {
    const kept = chunk.length > this.#limit ? chunk.subarray(chunk.length - this.#limit) : chunk;
    this.#chunks.push(kept);
    this.#bytes += kept.length;
    while (this.#bytes > this.#limit) {
      const first = this.#chunks[0];
      if (first === undefined) break;
      const excess = this.#bytes - this.#limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#bytes -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#bytes -= excess;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
