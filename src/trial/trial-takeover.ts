import type { TrialStateName } from '../contracts/index.js';
import { ErrorCodes, type SerializedError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { mayRetry, type RetryOptions } from '../policy/retry-policy.js';
import type {
  CheckpointRecord,
  EpochRecord,
  TrialRecord,
  TrialStore,
} from '../store/trial-store.js';
import type { AttemptLauncher } from './attempt-launcher.js';
import type { TrialPolicies } from './trial-policies.js';
import type { TrialRecorder } from './trial-recorder.js';

/**
 * What an executor knows of a trial it takes over from one that stopped renewing its lease:
 * the stored state and history, from which the trial goes on.
 */
export interface TrialTakeover {
  /** The executor taking over. */
  executor: string;
  /** The executor whose lease lapsed, when one was recorded. */
  previousExecutor: string | null;
  /** The state the store holds; never a terminal one. */
  state: TrialStateName;
  /** The attempt that was under way. */
  attempt: number;
  /** The trial's next free bus `seq`. */
  nextSeq: number;
  /** Ordered by attempt, then epoch. */
  epochs: EpochRecord[];
  /** Ordered by attempt, then epoch. */
  checkpoints: CheckpointRecord[];
}

/** Reads what a takeover of the stored `record` needs from the store. */
export async function loadTakeover(
  store: Pick<TrialStore, 'listEpochs' | 'listCheckpoints' | 'nextSeq'>,
  record: TrialRecord,
  executors: { executor: string; previous: string | null },
): Promise<TrialTakeover> {
  const [epochs, checkpoints, nextSeq] = await Promise.all([
    store.listEpochs(record.trialId),
    store.listCheckpoints(record.trialId),
    store.nextSeq(record.trialId),
  ]);
  return {
    executor: executors.executor,
    previousExecutor: executors.previous,
    state: record.state,
    attempt: record.attempt,
    nextSeq,
    epochs,
    checkpoints,
  };
}

/** The parts of a TrialRun that take up a trial's stored history. */
export interface TakeoverParts {
  trialId: string;
  recorder: TrialRecorder;
  policies: TrialPolicies;
  launcher: AttemptLauncher;
  logger: Logger;
}

/**
 * Takes up a trial's stored state, epochs and checkpoints, announces the takeover on the bus,
 * and returns the failures to count: losing the executor counts as a failure of the attempt it
 * was running.
 */
export function adoptTakeover(takeover: TrialTakeover, parts: TakeoverParts): number {
  const { recorder, policies, launcher, logger, trialId } = parts;
  recorder.restore(takeover.state, takeover.attempt, takeover.nextSeq);
  policies.replayEpochs(takeover.epochs);
  launcher.adoptCheckpoints(takeover.checkpoints);
  const resumeEpoch = takeover.checkpoints.filter((c) => c.files).at(-1)?.epoch ?? null;
  recorder.publishEvent({
    type: 'trial.taken_over',
    executor: takeover.executor,
    previous_executor: takeover.previousExecutor,
    state: takeover.state,
    attempt: takeover.attempt,
    resume_epoch: resumeEpoch,
  });
  logger.warn('trial taken over', {
    trialId,
    from: takeover.previousExecutor,
    state: takeover.state,
    attempt: takeover.attempt,
    resumeEpoch,
  });
  const hadWorker = takeover.state === 'launching' || takeover.state === 'running';
  return hadWorker ? takeover.attempt : 0;
}

/** What follows the takeover of a trial whose worker was lost with its executor. */
export type RelaunchDecision =
  | { relaunch: true; attempt: number; reason: string }
  | { relaunch: false; why: string; error: SerializedError };

/**
 * The lost executor's attempt counts as failed: the trial starts attempt `attempt + 1` from its
 * latest checkpoint while the retry policy allows one more, and fails otherwise.
 */
export function relaunchAfterTakeover(
  takeover: TrialTakeover | undefined,
  attempt: number,
  failures: number,
  retry: RetryOptions,
): RelaunchDecision {
  const lost = `executor ${takeover?.previousExecutor ?? '(unknown)'} stopped renewing its lease`;
  if (!mayRetry(failures, retry)) {
    return {
      relaunch: false,
      why: `${lost}; no retries left (max_failures: ${retry.maxFailures})`,
      error: {
        name: 'ExecutorLostError',
        code: ErrorCodes.WORKER_CRASHED,
        message: `${lost} while attempt ${attempt} ran`,
      },
    };
  }
  const next = attempt + 1;
  return { relaunch: true, attempt: next, reason: `taken over: ${lost}; attempt ${next}` };
}
