import type { TrainMessage } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import { ClassificationTask } from './classification-task.js';
import { LanguageModelTask } from './language-model-task.js';
import type { ModelState } from './model-state.js';

/** What one optimizer step reports back to the epoch loop. */
export interface StepResult {
  /** Mean loss of the step, before its update. */
  loss: number;
  /** What the mean was taken over (rows for classification, target tokens for generation). */
  weight: number;
  /** Real tokens the step trained on, for tokens/s. */
  tokens: number;
}

export interface TaskEvaluation {
  /** Mean validation loss per row (classification) or per target token (generation). */
  loss: number;
  /** Top-1 accuracy over the same units. */
  accuracy: number;
}

/**
 * A model and the shards it trains on, seen by the epoch loop: the Trainer owns epochs, order,
 * metrics, checkpoints and stopping; a task owns the tensors. One per task_type.
 */
export interface TrainingTask {
  readonly tokenizerRef: string;
  /** Rows (examples or packed blocks) in the training split. */
  readonly trainRows: number;
  /** Rows per step: hparams.batch_size, capped by the split's size and the task's memory. */
  readonly batchRows: number;
  /** One step on training rows `order[start .. start + size)`. */
  trainStep(order: ArrayLike<number>, start: number, size: number): StepResult;
  /** Measures the whole validation split without training. */
  evaluate(): TaskEvaluation;
  exportState(): Promise<ModelState>;
  importState(state: ModelState): Promise<void>;
  dispose(): void;
}

/** Loads and checks the shards of `request` and builds the model its task_type names. */
export async function openTrainingTask(
  request: TrainMessage,
  logger: Logger,
): Promise<TrainingTask> {
  return request.model.task_type === 'generation'
    ? LanguageModelTask.open(request, logger)
    : ClassificationTask.open(request);
}
