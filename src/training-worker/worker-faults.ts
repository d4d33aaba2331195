import type { Logger } from '../log/logger.js';

/**
 * Faults a test can inject into the reference worker, to reproduce what the executor's policies
 * must survive with a real process. They are read from `AUTOMAT_WORKER_FAULTS`, a JSON object
 * keyed by trial id, and do nothing for any other trial or when the variable is unset:
 *
 * - `stall_after_epoch: n` — after epoch n's checkpoint, wait forever while still sending
 *   progress beats (a worker that is alive but makes no progress);
 * - `heap_ballast: { bytes_per_row, from_epoch }` — from epoch `from_epoch` on, hold
 *   `batch × bytes_per_row` bytes on the V8 heap, standing in for activation memory that grows
 *   with the batch, so that a small `--max-old-space-size` runs out of heap at a large batch.
 */
export interface WorkerFaults {
  stallAfterEpoch?: number;
  heapBallast?: { bytesPerRow: number; fromEpoch: number };
}

export const WORKER_FAULTS_ENV = 'AUTOMAT_WORKER_FAULTS';

/** Numbers per chunk of ballast: 1 MiB of doubles, so no single allocation is huge. */
const CHUNK_NUMBERS = 128 * 1024;

export function faultsFor(trialId: string, env: NodeJS.ProcessEnv, log: Logger): WorkerFaults {
  const raw = env[WORKER_FAULTS_ENV];
  if (!raw) return {};
  let entry: Record<string, unknown> | undefined;
  try {
    entry = (JSON.parse(raw) as Record<string, Record<string, unknown> | undefined>)[trialId];
  } catch (error) {
    log.warn('ignoring unparseable worker faults', { error: String(error) });
    return {};
  }
  if (!entry) return {};
  log.warn('worker faults injected', { trialId, faults: entry });
  const ballast = entry.heap_ballast as { bytes_per_row?: number; from_epoch?: number } | undefined;
  return {
    ...(typeof entry.stall_after_epoch === 'number'
      ? { stallAfterEpoch: entry.stall_after_epoch }
      : {}),
    ...(ballast?.bytes_per_row
      ? { heapBallast: { bytesPerRow: ballast.bytes_per_row, fromEpoch: ballast.from_epoch ?? 1 } }
      : {}),
  };
}

/** Applies the faults at the points of a training run where they belong. */
export class FaultInjector {
  readonly #held: number[][] = [];

  constructor(
    private readonly faults: WorkerFaults,
    private readonly batch: number,
  ) {}

  /** Before the first epoch this process trains. */
  beforeTraining(startEpoch: number): void {
    const ballast = this.faults.heapBallast;
    if (ballast && startEpoch >= ballast.fromEpoch) this.#fillHeap(ballast.bytesPerRow);
  }

  /** After epoch `epoch`'s checkpoint; may never resolve (until `signal` aborts). */
  async afterCheckpoint(epoch: number, signal: AbortSignal): Promise<void> {
    const ballast = this.faults.heapBallast;
    if (ballast && epoch + 1 === ballast.fromEpoch) this.#fillHeap(ballast.bytesPerRow);
    if (this.faults.stallAfterEpoch === epoch) await untilAborted(signal);
  }

  #fillHeap(bytesPerRow: number): void {
    const numbers = Math.ceil((this.batch * bytesPerRow) / 8);
    for (let left = numbers; left > 0; left -= CHUNK_NUMBERS) {
      this.#held.push(new Array<number>(Math.min(left, CHUNK_NUMBERS)).fill(Math.random()));
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
