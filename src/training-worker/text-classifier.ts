import * as tf from '@tensorflow/tfjs';
import { embeddingMeanPool } from './embedding-mean-pool.js';
import { exportModelState, importModelState, type ModelState } from './model-state.js';
import type { RowBatch } from './row-batch.js';

export interface ClassifierSettings {
  vocabSize: number;
  embedDim: number;
  numLabels: number;
  seqLen: number;
  learningRate: number;
  /** Seeds the initial weights. */
  seed: number;
}

export interface Evaluation {
  /** Mean cross-entropy; NaN for an empty split. */
  loss: number;
  /** Fraction of rows whose arg-max logit is the label; NaN for an empty split. */
  accuracy: number;
}

/**
 * token embedding [vocab, embed] → mean over each row's real tokens → dense [embed, labels] →
 * softmax cross-entropy, trained with Adam. Shapes are kept plain ([batch, embed] @ [embed,
 * labels]) because transposed or batched matMul is an order of magnitude slower on wasm.
 * Only one instance may live in a process: variable names are fixed so checkpoints line up.
 */
export class TextClassifier {
  readonly #embedding: tf.Variable<tf.Rank.R2>;
  readonly #kernel: tf.Variable<tf.Rank.R2>;
  readonly #bias: tf.Variable<tf.Rank.R1>;
  readonly #optimizer: tf.AdamOptimizer;
  readonly #settings: ClassifierSettings;

  constructor(settings: ClassifierSettings) {
    this.#settings = settings;
    const { vocabSize, embedDim, numLabels, seed } = settings;
    const glorot = Math.sqrt(6 / (embedDim + numLabels));
    this.#embedding = tf.variable(
      tf.randomUniform([vocabSize, embedDim], -0.05, 0.05, 'float32', seed),
      true,
      'automat0/embedding',
    );
    this.#kernel = tf.variable(
      tf.randomUniform([embedDim, numLabels], -glorot, glorot, 'float32', seed + 1),
      true,
      'automat0/dense/kernel',
    );
    this.#bias = tf.variable(tf.zeros([numLabels]), true, 'automat0/dense/bias');
    this.#optimizer = tf.train.adam(settings.learningRate);
  }

  /** One Adam step on `batch`; returns its mean cross-entropy before the update. */
  trainStep(batch: RowBatch): number {
    // Tensors made inside the loss function are released by the gradient computation's scope.
    const loss = this.#optimizer.minimize(
      () => {
        const { ids, lengths, labels } = this.#tensors(batch);
        const target = tf.oneHot(labels, this.#settings.numLabels);
        return tf.losses.softmaxCrossEntropy(target, this.#logits(ids, lengths)) as tf.Scalar;
      },
      true,
      this.#variables(),
    );
    if (loss === null) throw new Error('the optimizer returned no loss');
    const value = loss.dataSync()[0] ?? Number.NaN;
    loss.dispose();
    return value;
  }

  /** Loss and accuracy over every row of `batches`, without training. */
  evaluate(batches: Iterable<RowBatch>): Evaluation {
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    for (const batch of batches) {
      const logits = tf.tidy(() => {
        const { ids, lengths } = this.#tensors(batch);
        return this.#logits(ids, lengths);
      });
      const values = logits.dataSync();
      logits.dispose();
      for (let row = 0; row < batch.size; row++) {
        const scored = scoreRow(values, row, this.#settings.numLabels, batch.labels[row] as number);
        lossSum += scored.loss;
        if (scored.correct) correct += 1;
      }
      count += batch.size;
    }
    return { loss: lossSum / count, accuracy: correct / count };
  }

  exportState(): Promise<ModelState> {
    return exportModelState(this.#variables(), this.#optimizer);
  }

  /** Restores weights and optimizer state written by `exportState`; shapes must match. */
  importState(state: ModelState): Promise<void> {
    return importModelState(this.#variables(), this.#optimizer, state);
  }

  dispose(): void {
    this.#optimizer.dispose();
    tf.dispose(this.#variables());
  }

  /** In a fixed order: Adam keeps its moments by position in this list. */
  #variables(): tf.Variable[] {
    return [this.#embedding, this.#kernel, this.#bias];
  }

  #tensors(batch: RowBatch): { ids: tf.Tensor2D; lengths: tf.Tensor1D; labels: tf.Tensor1D } {
    return {
      ids: tf.tensor2d(batch.ids, [batch.size, this.#settings.seqLen], 'int32'),
      lengths: tf.tensor1d(batch.lengths, 'int32'),
      labels: tf.tensor1d(batch.labels, 'int32'),
    };
  }

  #logits(ids: tf.Tensor2D, lengths: tf.Tensor1D): tf.Tensor2D {
    const pooled = embeddingMeanPool(this.#embedding, ids, lengths);
    return tf.add(tf.matMul(pooled, this.#kernel), this.#bias);
  }
}

/** Cross-entropy and correctness of one row of logits, computed stably in float64. */
function scoreRow(
  logits: ArrayLike<number>,
  row: number,
  numLabels: number,
  label: number,
): { loss: number; correct: boolean } {
  const base = row * numLabels;
  let max = -Infinity;
  let best = 0;
  for (let k = 0; k < numLabels; k++) {
    const value = logits[base + k] as number;
    if (value > max) {
      max = value;
      best = k;
    }
  }
  let sum = 0;
  for (let k = 0; k < numLabels; k++) sum += Math.exp((logits[base + k] as number) - max);
  const logProb = (logits[base + label] as number) - max - Math.log(sum);
  return { loss: -logProb, correct: best === label };
}
