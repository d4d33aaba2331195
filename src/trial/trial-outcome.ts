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
  attempts: number;
  error?: SerializedError;
}
