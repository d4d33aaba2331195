import { setImmediate as nextTurn } from 'node:timers/promises';
import { memory } from '@tensorflow/tfjs';
import type { BestMetricValue, TrainMessage } from '../contracts/index.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { BestMetricTracker } from './best-metric-tracker.js';
import {
  readCheckpoint,
  writeCheckpoint,
  type CheckpointHeader,
  type WrittenCheckpoint,
} from './checkpoint-store.js';
import { shuffledIndices } from './seeded-random.js';
import { openTrainingTask, type TaskEvaluation, type TrainingTask } from './training-task.js';

export type EpochMetrics = {
  primary: number | null;
  tokens_per_s: number;
  train_loss: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  val_perplexity: number | null;
};

export interface EpochReport {
  epoch: number;
  durationMs: number;
  metrics: EpochMetrics;
}

export interface TrainerHooks {
  /** After each epoch's validation, before its checkpoint; awaited. */
  onEpoch(report: EpochReport): Promise<void>;
  /** After each epoch's checkpoint is on disk; awaited. */
  onCheckpoint(epoch: number, checkpoint: WrittenCheckpoint): Promise<void>;
  /** Asked once an epoch and its checkpoint are done: true stops the run as cancelled. */
  stopRequested(): boolean;
}

export interface TrainerOutcome {
  status: 'completed' | 'cancelled';
  bestMetric: BestMetricValue;
  epochsCompleted: number;
}

/**
 * Runs the epochs of one `control.train` request, for either task type (see TrainingTask):
 * shuffled mini-batches (seeded by `hparams.seed` and the epoch), validation after every epoch,
 * then a checkpoint. With `resume_from` it restores weights, Adam state and the best metric, and
 * continues at the epoch after the checkpoint's; since the order of every epoch depends only on
 * the seed and the epoch number, a resumed run repeats what an uninterrupted one would have done.
 * A cancel asked for during the last epoch still ends as completed.
 */
export class Trainer {
  readonly startEpoch: number;
  readonly actualBatch: number;
  readonly tokenizerRef: string;

  readonly #request: TrainMessage;
  readonly #task: TrainingTask;
  readonly #best: BestMetricTracker;
  readonly #log: Logger;
  #epochsCompleted: number;

  private constructor(request: TrainMessage, task: TrainingTask, logger: Logger, resumed: Resumed) {
    this.#request = request;
    this.#task = task;
    this.#log = logger;
    this.#best = new BestMetricTracker(request.model.primary_metric, resumed.best);
    this.#epochsCompleted = resumed.epoch;
    this.startEpoch = resumed.epoch + 1;
    this.actualBatch = task.batchRows;
    this.tokenizerRef = task.tokenizerRef;
  }

  /** Loads and checks the shards and the checkpoint to resume from, and builds the model. */
  static async prepare(request: TrainMessage, logger: Logger): Promise<Trainer> {
    const checkpoint = request.resume_from ? await readCheckpoint(request.resume_from) : undefined;
    if (checkpoint) assertResumable(request, checkpoint.header);
    const task = await openTrainingTask(request, logger);
    const resumed: Resumed = checkpoint
      ? { epoch: checkpoint.header.epoch, best: checkpoint.header.best_metric }
      : { epoch: 0, best: undefined };
    const trainer = new Trainer(request, task, logger, resumed);
    if (checkpoint) {
      try {
        await task.importState(checkpoint.state);
      } catch (error) {
        task.dispose();
        throw error;
      }
      logger.info('resumed from checkpoint', { path: request.resume_from, epoch: resumed.epoch });
    }
    return trainer;
  }

  get bestMetric(): BestMetricValue {
    return this.#best.best;
  }

  get epochsCompleted(): number {
    return this.#epochsCompleted;
  }

  /** Trains until the last epoch or a stop request; `signal` aborts between steps. */
  async run(hooks: TrainerHooks, signal: AbortSignal): Promise<TrainerOutcome> {
    const { epochs } = this.#request.hparams;
    for (let epoch = this.startEpoch; epoch <= epochs; epoch++) {
      const report = await this.#trainEpoch(epoch, signal);
      this.#best.offer(epoch, report.metrics.primary);
      await hooks.onEpoch(report);
      const checkpoint = await this.#checkpoint(epoch, report);
      this.#epochsCompleted = epoch;
      await hooks.onCheckpoint(epoch, checkpoint);
      if (epoch < epochs && hooks.stopRequested()) return this.#outcome('cancelled');
    }
    return this.#outcome('completed');
  }

  dispose(): void {
    this.#task.dispose();
  }

  async #trainEpoch(epoch: number, signal: AbortSignal): Promise<EpochReport> {
    const started = performance.now();
    const rows = this.#task.trainRows;
    const order = shuffledIndices(rows, this.#request.hparams.seed * 1_000_003 + epoch);
    let lossSum = 0;
    let weight = 0;
    let tokens = 0;
    for (let start = 0; start < rows; start += this.actualBatch) {
      const step = this.#task.trainStep(order, start, Math.min(this.actualBatch, rows - start));
      lossSum += step.loss * step.weight;
      weight += step.weight;
      tokens += step.tokens;
      // Let ZeroMQ deliver control messages (a cancel) and notice an abort between steps.
      await nextTurn();
      signal.throwIfAborted();
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const evaluation = this.#task.evaluate();
    const durationMs = performance.now() - started;
    const metrics = this.#metrics(lossSum / weight, tokens / trainSeconds, evaluation);
    // Live tensors should stay flat from epoch to epoch; growth means a missing dispose.
    const { numTensors, numBytes } = memory();
    this.#log.info('epoch finished', {
      epoch,
      durationMs: Math.round(durationMs),
      ...metrics,
      numTensors,
      numBytes,
    });
    return { epoch, durationMs, metrics };
  }

  /** val_perplexity is exp(val_loss): per token for generation, per example for classification. */
  #metrics(trainLoss: number, tokensPerSecond: number, evaluation: TaskEvaluation): EpochMetrics {
    const valLoss = finiteOrNull(evaluation.loss);
    const valPerplexity = finiteOrNull(Math.exp(evaluation.loss));
    const valAccuracy = finiteOrNull(evaluation.accuracy);
    const primary = {
      val_accuracy: valAccuracy,
      val_loss: valLoss,
      val_perplexity: valPerplexity,
    }[this.#request.model.primary_metric];
    return {
      primary,
      tokens_per_s: Number.isFinite(tokensPerSecond) ? tokensPerSecond : 0,
      train_loss: finiteOrNull(trainLoss),
      val_loss: valLoss,
      val_accuracy: valAccuracy,
      val_perplexity: valPerplexity,
    };
  }

  async #checkpoint(epoch: number, report: EpochReport): Promise<WrittenCheckpoint> {
    const { model, hparams, checkpoint_dir } = this.#request;
    const header = { epoch, model, hparams, metrics: report.metrics, best_metric: this.bestMetric };
    return writeCheckpoint(checkpoint_dir, header, await this.#task.exportState());
  }

  #outcome(status: TrainerOutcome['status']): TrainerOutcome {
    return { status, bestMetric: this.bestMetric, epochsCompleted: this.#epochsCompleted };
  }
}

interface Resumed {
  epoch: number;
  best: BestMetricValue | undefined;
}

/**
 * A checkpoint continues only the model it was written by: same task, architecture sizes and
 * vocabulary. Anything else is refused up front with both values, not as a shape error later.
 */
function assertResumable(request: TrainMessage, saved: CheckpointHeader): void {
  const fields = ['task_type', 'seq_len', 'embed_dim', 'vocab_size', 'num_labels'] as const;
  for (const field of fields) {
    if (saved.model[field] === request.model[field]) continue;
    throw new AutomatError(
      ErrorCodes.ARTIFACT_NOT_FOUND,
      `resume_from ${JSON.stringify(request.resume_from)} was written for model.${field} ` +
        `${JSON.stringify(saved.model[field])}, this request has ` +
        JSON.stringify(request.model[field]),
    );
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
