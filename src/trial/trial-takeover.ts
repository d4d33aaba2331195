import type { TrialStateName } from '../contracts/index.js';
import { ErrorCodes, type SerializedError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { mayRetry, type RetryOptions } from '../policy/retry-policy.js';
import type {
  CheckpointRecord,
  EpochRecord,
  HandoverRecord,
  TrialRecord,
  TrialStore,
} from '../store/trial-store.js';
import type { AttemptLauncher } from './attempt-launcher.js';
import type { TrialPolicies } from './trial-policies.js';
import type { TrialRecorder } from './trial-recorder.js';

/**
 * What an executor knows of a trial it takes over from one that stopped renewing its lease or
 * handed the trial over at a graceful shutdown: the stored state and history, from which the
 * trial goes on.
 */
export interface TrialTakeover {
  /** The executor taking over. */
  executor: string;
  /** The executor whose lease lapsed, or that handed the trial over, when one was recorded. */
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
  /** The attempts that ended in a graceful handover (not failures), ordered by attempt. */
  handovers: HandoverRecord[];
}

/** Reads what a takeover of the stored `record` needs from the store. */
export async function loadTakeover(
  store: Pick<TrialStore, 'listEpochs' | 'listCheckpoints' | 'listHandovers' | 'nextSeq'>,
  record: TrialRecord,
  executors: { executor: string; previous: string | null },
): Promise<TrialTakeover> {
  const [epochs, checkpoints, handovers, nextSeq] = await Promise.all([
    store.listEpochs(record.trialId),
    store.listCheckpoints(record.trialId),
    store.listHandovers(record.trialId),
    store.nextSeq(record.trialId),
  ]);
  // A handed-over trial's lease was released: its handover names the executor.
  const handover = handovers.find((h) => h.attempt === record.attempt);
  return {
    executor: executors.executor,
    previousExecutor: executors.previous ?? handover?.executor ?? null,
    state: record.state,
    attempt: record.attempt,
    nextSeq,
    epochs,
    checkpoints,
    handovers,
  };
}

/** Whether the attempt under way when the trial was taken over ended in a graceful handover. */
export function wasHandedOver(takeover: TrialTakeover | undefined): boolean {
  return takeover?.handovers.some((h) => h.attempt === takeover.attempt) ?? false;
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
 * and returns the failures to count: every attempt so far but those that ended in a graceful
 * handover. So losing the executor (a crash) counts as a failure of the attempt it was running,
 * and a handover does not.
 */
export function adoptTakeover(takeover: TrialTakeover, parts: TakeoverParts): number {
  const { recorder, policies, launcher, logger, trialId } = parts;
  recorder.restore(takeover.state, takeover.attempt, takeover.nextSeq);
  policies.replayEpochs(takeover.epochs);
  launcher.adoptCheckpoints(takeover.checkpoints);
  const resumeEpoch = takeover.checkpoints.filter((c) => c.files).at(-1)?.epoch ?? null;
  const handedOverToUs = wasHandedOver(takeover);
  recorder.publishEvent({
    type: 'trial.taken_over',
    executor: takeover.executor,
    previous_executor: takeover.previousExecutor,
    state: takeover.state,
    attempt: takeover.attempt,
    resume_epoch: resumeEpoch,
    handed_over: handedOverToUs,
  });
  // A handover is the planned path (a graceful stop); taking over from a silent executor is not.
  logger[handedOverToUs ? 'info' : 'warn']('trial taken over', {
    trialId,
    from: takeover.previousExecutor,
    state: takeover.state,
    attempt: takeover.attempt,
    resumeEpoch,
    handedOver: handedOverToUs,
  });
  const hadWorker = takeover.state === 'launching' || takeover.state === 'running';
  const handedOver = takeover.handovers.filter((h) => h.attempt <= takeover.attempt).length;
  return hadWorker ? Math.max(0, takeover.attempt - handedOver) : 0;
}

/** What follows the takeover of a trial that had an attempt under way (launching, running). */
export type RelaunchDecision =
  | { relaunch: true; attempt: number; reason: string }
  | { relaunch: false; why: string; error: SerializedError };

/**
 * The trial starts attempt `attempt + 1` from its latest checkpoint while the retry policy
 * allows one more, and fails otherwise. A lost executor's attempt is among `failures`; a
 * handed-over one is not (see adoptTakeover), so a handover never ends the trial here.
 */
export function relaunchAfterTakeover(
  takeover: TrialTakeover | undefined,
  attempt: number,
  failures: number,
  retry: RetryOptions,
): RelaunchDecision {
  const previous = `executor ${takeover?.previousExecutor ?? '(unknown)'}`;
  const lost = wasHandedOver(takeover)
    ? `${previous} handed the trial over at shutdown`
    : `${previous} stopped renewing its lease`;
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
