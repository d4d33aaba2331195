/** An Int32Array that grows by doubling: per-row facts of a corpus of unknown length. */
export class GrowableInt32 {
  #values = new Int32Array(1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#values.length) this.#grow(this.#length + 1);
    this.#values[this.#length] = value;
    this.#length += 1;
  }

  append(values: Int32Array): void {
    if (this.#length + values.length > this.#values.length)
      this.#grow(this.#length + values.length);
    this.#values.set(values, this.#length);
    this.#length += values.length;
  }

  /** A view of the values pushed so far; it stays valid until the next push. */
  view(): Int32Array {
    return this.#values.subarray(0, this.#length);
  }

  #grow(needed: number): void {
    let size = this.#values.length * 2;
    while (size < needed) size *= 2;
    const next = new Int32Array(size);
    next.set(this.view());
    this.#values = next;
  }
}
