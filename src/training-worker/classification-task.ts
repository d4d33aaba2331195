import type { TrainMessage } from '../contracts/index.js';
import type { ModelState } from './model-state.js';
import { gatherRows, sliceRows, type RowBatch } from './row-batch.js';
import { TextClassifier } from './text-classifier.js';
import {
  closeTokens,
  loadTrainingData,
  type LabelledSplit,
  type TrainingData,
} from './training-data.js';
import type { StepResult, TaskEvaluation, TrainingTask } from './training-task.js';

/** Rows per forward pass when measuring the validation split. */
const EVAL_BATCH_ROWS = 512;

/** The text classifier on classification shards; losses are means per example. */
export class ClassificationTask implements TrainingTask {
  readonly tokenizerRef: string;
  readonly trainRows: number;
  readonly batchRows: number;
  readonly #data: TrainingData;
  readonly #model: TextClassifier;

  private constructor(request: TrainMessage, data: TrainingData) {
    const { model, hparams } = request;
    this.#data = data;
    this.#model = new TextClassifier({
      vocabSize: model.vocab_size,
      embedDim: model.embed_dim,
      numLabels: model.num_labels,
      seqLen: model.seq_len,
      learningRate: hparams.learning_rate,
      seed: hparams.seed,
    });
    this.tokenizerRef = data.tokenizerRef;
    this.trainRows = data.train.rows;
    this.batchRows = Math.max(1, Math.min(hparams.batch_size, data.train.rows));
  }

  static async open(request: TrainMessage): Promise<ClassificationTask> {
    return new ClassificationTask(
      request,
      await loadTrainingData(request.dataset_uri, request.model),
    );
  }

  trainStep(order: ArrayLike<number>, start: number, size: number): StepResult {
    const batch = gatherRows(this.#data.train, order, start, size);
    const loss = this.#model.trainStep(batch);
    return { loss, weight: batch.size, tokens: batch.realTokens };
  }

  evaluate(): TaskEvaluation {
    return this.#model.evaluate(slices(this.#data.validation, EVAL_BATCH_ROWS));
  }

  exportState(): Promise<ModelState> {
    return this.#model.exportState();
  }

  importState(state: ModelState): Promise<void> {
    return this.#model.importState(state);
  }

  dispose(): void {
    this.#model.dispose();
    void closeTokens(this.#data);
  }
}

function* slices(split: LabelledSplit, rows: number): Generator<RowBatch> {
  for (let start = 0; start < split.rows; start += rows) {
    yield sliceRows(split, start, Math.min(rows, split.rows - start));
  }
}
