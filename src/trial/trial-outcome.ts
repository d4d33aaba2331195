import type { BestMetricValue, StopReasonName, TrialStateName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';

/** How a trial ended, as the supervisor and the CLI see it. */
export interface TrialOutcome {
  trialId: string;
  state: TrialStateName;
  stopReason: StopReasonName;
  bestMetric: BestMetricValue;
  bestCheckpointUri: string | null;
  epochsCompleted: number;
  /** Worker attempts launched (0 when the trial ended before any). */
  attempts: number;
  /** The batch of the last attempt, after any out-of-memory back-off. */
  batchSize: number;
  error?: SerializedError;
}
