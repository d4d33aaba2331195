import type { BestMetricValue, StopReasonName, TrialStateName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';

/** How a trial ended, or was handed over, as the supervisor and the CLI see it. */
export interface TrialOutcome {
  trialId: string;
  /** The terminal state; for a trial handed over, the unfinished state it was left in. */
  state: TrialStateName;
  /** Null only for a trial handed over, which has not ended. */
  stopReason: StopReasonName | null;
  bestMetric: BestMetricValue;
  bestCheckpointUri: string | null;
  epochsCompleted: number;
  /** Worker attempts launched (0 when the trial ended before any). */
  attempts: number;
  /** The batch of the last attempt, after any out-of-memory back-off. */
  batchSize: number;
  error?: SerializedError;
  /** Set when the executor shut down and gave the trial up to the next one (see TrialHandover). */
  handedOver?: HandoverSummary;
}

/** What a graceful shutdown left of a trial for the executor that claims it next. */
export interface HandoverSummary {
  /** The attempt that stopped cleanly (recorded as a handover); null when none had launched. */
  attempt: number | null;
  /** The epoch of the latest checkpoint, which the next attempt resumes from. */
  resumeEpoch: number | null;
  reason: string;
}
