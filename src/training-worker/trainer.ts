import { setImmediate as nextTurn } from 'node:timers/promises';
import { memory } from '@tensorflow/tfjs';
import type { BestMetricValue, TrainMessage } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import { BestMetricTracker } from './best-metric-tracker.js';
import { readCheckpoint, writeCheckpoint, type WrittenCheckpoint } from './checkpoint-store.js';
import { gatherRows, sliceRows, type RowBatch } from './row-batch.js';
import { shuffledIndices } from './seeded-random.js';
import { TextClassifier, type Evaluation } from './text-classifier.js';
import { loadTrainingData, type LabelledSplit, type TrainingData } from './training-data.js';

/** Rows per forward pass when measuring the validation split. */
const EVAL_BATCH_ROWS = 512;

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
 * Runs the epochs of one `control.train` request: shuffled mini-batches (seeded by
 * `hparams.seed` and the epoch), validation after every epoch, then a checkpoint. With
 * `resume_from` it restores weights, Adam state and the best metric, and continues at the epoch
 * after the checkpoint's. A cancel asked for during the last epoch still ends as completed.
 */
export class Trainer {
  readonly startEpoch: number;
  readonly actualBatch: number;
  readonly tokenizerRef: string;

  readonly #request: TrainMessage;
  readonly #data: TrainingData;
  readonly #model: TextClassifier;
  readonly #best: BestMetricTracker;
  readonly #log: Logger;
  #epochsCompleted: number;

  private constructor(request: TrainMessage, data: TrainingData, logger: Logger, resumed: Resumed) {
    this.#request = request;
    this.#data = data;
    this.#log = logger;
    const { model, hparams } = request;
    this.#model = new TextClassifier({
      vocabSize: model.vocab_size,
      embedDim: model.embed_dim,
      numLabels: model.num_labels,
      seqLen: model.seq_len,
      learningRate: hparams.learning_rate,
      seed: hparams.seed,
    });
    this.#best = new BestMetricTracker(model.primary_metric, resumed.best);
    this.#epochsCompleted = resumed.epoch;
    this.startEpoch = resumed.epoch + 1;
    this.actualBatch = Math.max(1, Math.min(hparams.batch_size, data.train.rows));
    this.tokenizerRef = data.tokenizerRef;
  }

  /** Loads and checks the shards and the checkpoint to resume from, and builds the model. */
  static async prepare(request: TrainMessage, logger: Logger): Promise<Trainer> {
    const data = await loadTrainingData(request.dataset_uri, request.model);
    const checkpoint = request.resume_from ? await readCheckpoint(request.resume_from) : undefined;
    const resumed: Resumed = checkpoint
      ? { epoch: checkpoint.header.epoch, best: checkpoint.header.best_metric }
      : { epoch: 0, best: undefined };
    const trainer = new Trainer(request, data, logger, resumed);
    if (checkpoint) {
      await trainer.#model.importState(checkpoint.state);
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
    this.#model.dispose();
  }

  async #trainEpoch(epoch: number, signal: AbortSignal): Promise<EpochReport> {
    const started = performance.now();
    const { train, validation } = this.#data;
    const order = shuffledIndices(train.rows, this.#request.hparams.seed * 1_000_003 + epoch);
    let lossSum = 0;
    let tokens = 0;
    for (let start = 0; start < train.rows; start += this.actualBatch) {
      const batch = gatherRows(train, order, start, Math.min(this.actualBatch, train.rows - start));
      lossSum += this.#model.trainStep(batch) * batch.size;
      tokens += batch.realTokens;
      // Let ZeroMQ deliver control messages (a cancel) and notice an abort between steps.
      await nextTurn();
      signal.throwIfAborted();
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const evaluation = this.#model.evaluate(slices(validation, EVAL_BATCH_ROWS));
    const durationMs = performance.now() - started;
    const metrics = this.#metrics(lossSum / train.rows, tokens / trainSeconds, evaluation);
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

  #metrics(trainLoss: number, tokensPerSecond: number, evaluation: Evaluation): EpochMetrics {
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
    return writeCheckpoint(checkpoint_dir, header, await this.#model.exportState());
  }

  #outcome(status: TrainerOutcome['status']): TrainerOutcome {
    return { status, bestMetric: this.bestMetric, epochsCompleted: this.#epochsCompleted };
  }
}

interface Resumed {
  epoch: number;
  best: BestMetricValue | undefined;
}

function* slices(split: LabelledSplit, rows: number): Generator<RowBatch> {
  for (let start = 0; start < split.rows; start += rows) {
    yield sliceRows(split, start, Math.min(rows, split.rows - start));
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
