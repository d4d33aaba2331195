import { ErrorCodes, type ErrorCode, type SerializedError } from '../errors/index.js';
import { looksLikeOutOfMemory, WorkerExitCode } from '../worker-protocol/worker-exit.js';
import type { LivenessFault } from './liveness.js';

/** How a worker process ended, as the launcher classified it. */
export interface ExitFacts {
  code: number | null;
  signal: string | null;
  classification: 'clean' | 'crashed' | 'killed' | 'oom';
  stderrTail: string;
}

/** Everything known about an attempt that ended without a successful `final`. */
export interface AttemptEnd {
  exit: ExitFacts;
  /** The error of the worker's `final` with status `failed`, when it sent one. */
  reported?: SerializedError;
  /** Why the executor killed the worker, when it did. */
  killedFor?: { fault: LivenessFault; message: string };
}

/**
 * `oom`: out of memory, retried at a smaller batch; `transient`: retried at the same batch while
 * `max_failures` allows; `fatal`: retrying cannot help (bad dataset, bad spec), fails at once.
 */
export type FailureKind = 'oom' | 'transient' | 'fatal';

export interface AttemptFailure {
  kind: FailureKind;
  /** One line on what happened, for transitions and logs. */
  detail: string;
  error: SerializedError;
}

/** Codes that name a problem with the trial's inputs: the same attempt would fail again. */
export const NON_RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.INVALID_MESSAGE,
  ErrorCodes.INVALID_JSON,
  ErrorCodes.UNKNOWN_REFERENCE,
  ErrorCodes.DATASET_NOT_FOUND,
  ErrorCodes.DATASET_INVALID,
  ErrorCodes.TOKENIZER_INVALID,
  ErrorCodes.SHARD_CORRUPT,
  ErrorCodes.ARTIFACT_NOT_FOUND,
  ErrorCodes.CONFIG_INVALID,
]);

/**
 * Classifies a failed attempt. In order: a worker the executor killed for a liveness fault is
 * transient; a reported error with a non-retryable code is fatal; out of memory (the exit code
 * 3 report, heap exhaustion on stderr, or an out-of-memory message in the reported error) is
 * `oom`; exit code 2 (the worker rejected its arguments) is fatal; anything else is transient.
 */
export function classifyAttemptFailure(end: AttemptEnd): AttemptFailure {
  const { exit, reported, killedFor } = end;
  if (killedFor) {
    return {
      kind: 'transient',
      detail: `worker killed: ${killedFor.fault} (${killedFor.message})`,
      error: wire('WorkerTimeoutError', ErrorCodes.WORKER_TIMEOUT, killedFor.message),
    };
  }
  if (reported && NON_RETRYABLE_CODES.has(reported.code)) {
    return { kind: 'fatal', detail: `worker reported ${reported.code}`, error: reported };
  }
  const oom = outOfMemoryEvidence(exit, reported);
  if (oom) {
    return {
      kind: 'oom',
      detail: `out of memory: ${oom}`,
      error: wire('OutOfMemoryError', ErrorCodes.WORKER_CRASHED, `${oom}; ${exitText(exit)}`),
    };
  }
  if (exit.code === WorkerExitCode.usage) {
    return {
      kind: 'fatal',
      detail: 'worker rejected its arguments',
      error: wire('WorkerStartError', ErrorCodes.WORKER_START_FAILED, exitText(exit)),
    };
  }
  return {
    kind: 'transient',
    detail: `worker exited (${exit.classification}, ${exitHow(exit)})`,
    error: reported ?? wire('WorkerCrashedError', ErrorCodes.WORKER_CRASHED, exitText(exit)),
  };
}

function outOfMemoryEvidence(exit: ExitFacts, reported?: SerializedError): string | undefined {
  if (exit.code === WorkerExitCode.outOfMemory) return 'the worker reported it (exit code 3)';
  if (looksLikeOutOfMemory(exit.stderrTail)) return 'heap exhaustion on the worker stderr';
  if (reported && looksLikeOutOfMemory(reported.message)) return 'the worker reported it';
  if (exit.classification === 'oom') return 'the launcher classified the exit as oom';
  return undefined;
}

/** The exit code or signal and the last lines of stderr, for error messages. */
export function exitText(exit: ExitFacts): string {
  const how = exitHow(exit);
  const tail = exit.stderrTail.trim().split('\n').slice(-3).join(' | ');
  return tail ? `worker exited with ${how}: ${tail}` : `worker exited with ${how}`;
}

function exitHow(exit: ExitFacts): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function wire(name: string, code: ErrorCode, message: string): SerializedError {
  return { name, code, message };
}
