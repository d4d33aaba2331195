import type { TrainMessage } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import { LanguageModel } from './language-model.js';
import { loadLanguageModelData, type LanguageModelData } from './language-model-data.js';
import type { ModelState } from './model-state.js';
import { gatherBlocks, sliceBlocks, type BlockBatch, type BlockSplit } from './token-blocks.js';
import { closeTokens } from './training-data.js';
import type { StepResult, TaskEvaluation, TrainingTask } from './training-task.js';

/**
 * Largest [tokens, vocab] float32 logits buffer one step may allocate. A step holds a few
 * buffers of this size (logits, their gradient, a scaled copy), and the WebAssembly heap stops
 * at 4 GiB: batch 128 × 128 tokens × 8k vocabulary (512 MiB each) ran out of it.
 */
const LOGITS_BYTES_LIMIT = 128 * 1024 * 1024;
/** Target tokens per forward pass when measuring the validation split. */
const EVAL_TOKENS = 4096;

/** The transformer language model on packed generation blocks; losses are means per token. */
export class LanguageModelTask implements TrainingTask {
  readonly tokenizerRef: string;
  readonly trainRows: number;
  readonly batchRows: number;
  readonly #data: LanguageModelData;
  readonly #model: LanguageModel;
  readonly #evalRows: number;

  private constructor(request: TrainMessage, data: LanguageModelData, logger: Logger) {
    const { model, hparams } = request;
    this.#data = data;
    this.#model = new LanguageModel({
      vocabSize: model.vocab_size,
      embedDim: model.embed_dim,
      seqLen: model.seq_len,
      learningRate: hparams.learning_rate,
      seed: hparams.seed,
    });
    this.tokenizerRef = data.tokenizerRef;
    this.trainRows = data.train.rows;
    const bytesPerRow = model.seq_len * model.vocab_size * Float32Array.BYTES_PER_ELEMENT;
    const memoryRows = Math.max(1, Math.floor(LOGITS_BYTES_LIMIT / bytesPerRow));
    this.batchRows = Math.max(1, Math.min(hparams.batch_size, data.train.rows, memoryRows));
    if (hparams.batch_size > memoryRows) {
      logger.warn('batch_size capped to fit the logits in memory', {
        requested: hparams.batch_size,
        actual: this.batchRows,
        logitsLimitMiB: LOGITS_BYTES_LIMIT / 2 ** 20,
      });
    }
    this.#evalRows = Math.max(1, Math.min(Math.floor(EVAL_TOKENS / model.seq_len), memoryRows));
  }

  static async open(request: TrainMessage, logger: Logger): Promise<LanguageModelTask> {
    const data = await loadLanguageModelData(request.dataset_uri, request.model);
    return new LanguageModelTask(request, data, logger);
  }

  trainStep(order: ArrayLike<number>, start: number, size: number): StepResult {
    const batch = gatherBlocks(this.#data.train, order, start, size);
    const tokens = batch.size * batch.seqLen;
    return { loss: this.#model.trainStep(batch), weight: tokens, tokens };
  }

  evaluate(): TaskEvaluation {
    const { loss, accuracy } = this.#model.evaluate(slices(this.#data.validation, this.#evalRows));
    return { loss, accuracy };
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

function* slices(split: BlockSplit, rows: number): Generator<BlockBatch> {
  for (let start = 0; start < split.rows; start += rows) {
    yield sliceBlocks(split, start, Math.min(rows, split.rows - start));
  }
}
