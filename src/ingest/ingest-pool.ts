import { availableParallelism } from 'node:os';
import { getMaxListeners, setMaxListeners } from 'node:events';
import { Piscina } from 'piscina';
import { AutomatError, ErrorCodes, deserializeError } from '../errors/index.js';
import { distEntry } from '../runtime/dist-path.js';
import type {
  TokenizeOutput,
  TokenizeReply,
  TokenizeTask,
  TokenizeThreadData,
} from './tokenize-task.js';
import { keepTokenizerLibrarySerial } from './tokenizer-parallelism.js';

/**
 * Batches piscina hands one thread at a time. The thread runs them one after the other
 * (tokenize-task.ts), so with two it always has its next batch at hand and never idles waiting
 * for the main thread to dispatch one.
 */
const BATCHES_PER_THREAD = 2;

/** Listeners a caller's signal may carry besides the pool's: Node's own default. */
const LISTENER_MARGIN = 10;

export interface IngestPoolOptions {
  /** Worker threads. Default `os.availableParallelism()`. */
  threads?: number;
  /** Batches started but not finished before `enqueue` waits. Default `threads × 2`. */
  maxInFlight?: number;
  /** How long an idle thread (and its parsed tokenizer) is kept, in ms. Default 60 000. */
  idleTimeoutMs?: number;
  /** The worker module. Default the compiled `src/ingest/tokenize-task`. */
  filename?: string;
  /**
   * Young-generation size of each thread's heap, in MiB. Default 4. Each native `encode` leaves
   * an Encoding whose Rust memory (offsets, token strings: about ten times its ids) is freed only
   * when V8 collects its small JavaScript wrapper; V8 does not see that memory, so with its
   * default young generation a thread held hundreds of MiB of it on SOTU. A small young
   * generation collects the wrappers every few megabytes of ids and keeps RSS flat.
   */
  youngGenerationMiB?: number;
  /**
   * Each thread remembers the ids of the words it encoded and sends the tokenizer library only
   * new ones (`PieceCacheEncoder`; same ids). Default true; off, the library encodes every word,
   * as the bench does to compare.
   */
  pieceCache?: boolean;
}

/** A started batch; `result` is wrapped so awaiting `enqueue` does not wait for the batch. */
export interface PendingBatch {
  result: Promise<TokenizeOutput>;
}

/**
 * The ingest thread pool. Tokenizing is CPU-bound, so it runs on piscina threads; `enqueue`
 * bounds how many batches are outstanding so a fast file reader cannot queue a whole dataset of
 * texts in memory.
 *
 * A cancelled batch is not taken from its thread: its promise rejects at once, and the thread
 * finishes the batch (tens of milliseconds) and stays, with its built tokenizer, for the next
 * build. Handing piscina the signal instead would make it terminate the thread, and would also
 * stop it from giving a thread a second batch while the first runs.
 */
export class IngestPool {
  readonly threads: number;
  readonly maxInFlight: number;
  readonly #piscina: Piscina<TokenizeTask, TokenizeReply>;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  #closedBecause: string | undefined;

  constructor(options: IngestPoolOptions = {}) {
    keepTokenizerLibrarySerial();
    this.threads = positive('threads', options.threads ?? availableParallelism());
    this.maxInFlight = positive('maxInFlight', options.maxInFlight ?? this.threads * 2);
    this.#piscina = new Piscina({
      filename: options.filename ?? distEntry('src/ingest/tokenize-task'),
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      concurrentTasksPerWorker: BATCHES_PER_THREAD,
      workerData: { pieceCache: options.pieceCache ?? true } satisfies TokenizeThreadData,
      resourceLimits: {
        maxYoungGenerationSizeMb: positive('youngGenerationMiB', options.youngGenerationMiB ?? 4),
      },
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Waits for a free slot, then starts the batch. Rejects with CANCELLED when `signal` aborts. */
  async enqueue(task: TokenizeTask, signal?: AbortSignal): Promise<PendingBatch> {
    // Each batch in flight listens on the caller's signal; past Node's default of 10 listeners,
    // which a pool of six threads or more reaches, Node would warn of a leak that is none.
    if (signal !== undefined && getMaxListeners(signal) < this.maxInFlight + LISTENER_MARGIN) {
      setMaxListeners(this.maxInFlight + LISTENER_MARGIN, signal);
    }
    await this.#acquire(signal);
    const running = this.#piscina.run(task);
    // The slot stays taken until the thread is done, even when the caller stopped waiting.
    running.then(
      () => this.#release(),
      () => this.#release(),
    );
    const result = this.#settle(running, signal);
    // Callers collect results and await them in order; until then a rejection is not unhandled.
    result.catch(() => undefined);
    return { result };
  }

  /**
   * Starts every thread and has each build the tokenizer of `task` (sent with no texts), so
   * that work overlaps whatever the caller does before its first batch. Failures are ignored:
   * the first real batch reports them.
   */
  warm(task: TokenizeTask): void {
    const empty = { ...task, texts: [] };
    for (let i = 0; i < this.threads; i += 1) {
      void this.#piscina.run(empty).catch(() => undefined);
    }
  }

  /** Enqueues one batch and waits for its ids. */
  async run(task: TokenizeTask, signal?: AbortSignal): Promise<TokenizeOutput> {
    return (await this.enqueue(task, signal)).result;
  }

  /** Finishes running batches, then stops the threads. Idempotent: returns the same promise. */
  close(reason = 'closed by its owner'): Promise<void> {
    if (this.#closing === undefined) {
      this.#closedBecause = reason;
      this.#closing = this.#piscina.close();
      for (const wake of this.#waiters.splice(0)) wake();
    }
    return this.#closing;
  }

  async #settle(
    running: Promise<TokenizeReply>,
    signal: AbortSignal | undefined,
  ): Promise<TokenizeOutput> {
    let reply: TokenizeReply;
    try {
      reply = await untilAborted(running, signal);
    } catch (error) {
      throw translatePiscinaError(error, signal);
    }
    if (!reply.ok) throw deserializeError(reply.error);
    return reply.output;
  }

  async #acquire(signal: AbortSignal | undefined): Promise<void> {
    while (true) {
      this.#assertOpen();
      if (signal?.aborted === true) throw cancelled(signal);
      if (this.#inFlight < this.maxInFlight) {
        this.#inFlight += 1;
        return;
      }
      await this.#slotFreed(signal);
    }
  }

  #slotFreed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', wake);
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  #release(): void {
    this.#inFlight -= 1;
    this.#waiters.shift()?.();
  }

  #assertOpen(): void {
    if (this.#closedBecause !== undefined) {
      throw new AutomatError(
        ErrorCodes.CANCELLED,
        `tokenize batch sent to a closed ingest pool (${this.#closedBecause})`,
      );
    }
  }
}

function positive(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,
      `ingest pool ${field} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** `work`, or a CANCELLED rejection as soon as `signal` aborts; `work` itself runs on. */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

function cancelled(signal: AbortSignal): AutomatError {
  return new AutomatError(ErrorCodes.CANCELLED, 'ingest cancelled', { cause: signal.reason });
}

/** The one place piscina's errors become Automat0 errors. */
function translatePiscinaError(error: unknown, signal: AbortSignal | undefined): AutomatError {
  if (signal?.aborted === true) return cancelled(signal);
  if (error instanceof AutomatError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AutomatError(ErrorCodes.INTERNAL, `ingest thread failed: ${message}`, {
    cause: error,
  });
}
