import type { FinalMessage } from '../contracts/index.js';
import type { LivenessFault } from '../policy/liveness.js';
import type { WorkerSession } from './trial-ports.js';

/** One attempt of a trial: a worker process, from launch until it has exited. */
export class WorkerAttempt {
  session: WorkerSession | undefined;
  /** The process has exited (or was given up on after a kill it did not survive). */
  gone = false;
  /** The worker's `final`, once received. */
  final: FinalMessage | undefined;
  /** Set when the executor killed the worker for a liveness fault. */
  killedFor: { fault: LivenessFault; message: string } | undefined;

  constructor(
    readonly number: number,
    readonly batchSize: number,
  ) {}

  /** Whether the worker process may still be running. */
  get live(): boolean {
    return this.session !== undefined && !this.gone;
  }

  kill(): void {
    if (this.live) this.session?.kill('SIGKILL');
  }
}
