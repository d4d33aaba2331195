interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

/**
 * An unbounded FIFO between a socket's receive loop and one consumer. Items pushed before
 * anyone waits are kept; `end()` lets waiting and later readers drain what is left and then
 * finish, or fail with `error` when one is given.
 */
export class MessageQueue<T> {
  #items: T[] = [];
  #waiters: Waiter<T>[] = [];
  #ended = false;
  #error: unknown = undefined;

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: item, done: false });
    else this.#items.push(item);
  }

  /** Ends the queue once; later calls are ignored. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const waiter of this.#waiters.splice(0)) this.#settleEnded(waiter);
  }

  /** The next item; rejects with `signal.reason` if the signal aborts first. */
  next(signal?: AbortSignal): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject };
      if (this.#ended) {
        this.#settleEnded(waiter);
        return;
      }
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push({
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
    });
  }

  /** Iterates until the queue ends; an aborted signal ends the iteration with its reason. */
  async *drain(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const result = await this.next(signal);
      if (result.done) return;
      yield result.value;
    }
  }

  #settleEnded(waiter: Waiter<T>): void {
    if (this.#error !== undefined) waiter.reject(this.#error);
    else waiter.resolve({ value: undefined, done: true });
  }
}
