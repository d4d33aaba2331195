import { AutomatError, ErrorCodes } from '../errors/index.js';

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers still waiting that could abort; at zero the shared work is cancelled. */
  interested: number;
  /** True once a caller without a signal joined: the work then always runs to the end. */
  pinned: boolean;
}

/**
 * Shares one run of an expensive job between concurrent callers asking for the same key. Each
 * caller may cancel its own wait; the job itself is cancelled only when every caller has.
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  /** Number of jobs running now. */
  get size(): number {
    return this.#flights.size;
  }

  /** Runs `work` for `key`, or joins the run already in progress. */
  run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(cancelled(signal));
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const promise = work(controller.signal).finally(() => this.#flights.delete(key));
      flight = { promise, controller, interested: 0, pinned: false };
      this.#flights.set(key, flight);
    }
    if (signal === undefined) {
      flight.pinned = true;
      return flight.promise;
    }
    flight.interested += 1;
    return this.#waitFor(flight, signal);
  }

  async #waitFor(flight: Flight<T>, signal: AbortSignal): Promise<T> {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        flight.interested -= 1;
        if (flight.interested === 0 && !flight.pinned) flight.controller.abort(signal.reason);
        reject(cancelled(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([flight.promise, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort as () => void);
    }
  }
}

function cancelled(signal: AbortSignal): AutomatError {
  return new AutomatError(ErrorCodes.CANCELLED, 'ingest cancelled', { cause: signal.reason });
}
