import * as tf from '@tensorflow/tfjs';
import { embeddingMeanPool } from './embedding-mean-pool.js';
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

/** A tensor's values outside tfjs, for checkpoints. */
export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array | Int32Array;
}

export interface ClassifierState {
  weights: NamedArray[];
  /** Adam's iteration count and moment estimates, in the order tfjs expects them back. */
  optimizer: NamedArray[];
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

  async exportState(): Promise<ClassifierState> {
    const weights = await Promise.all(this.#variables().map((v) => toNamedArray(v.name, v)));
    const saved = await this.#optimizer.getWeights();
    const optimizer = await Promise.all(saved.map((w) => toNamedArray(w.name, w.tensor)));
    // The moments are the optimizer's own variables; the step count is a fresh scalar to free.
    tf.dispose(saved.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
    return { weights, optimizer };
  }

  /** Restores weights and optimizer state written by `exportState`; shapes must match. */
  async importState(state: ClassifierState): Promise<void> {
    for (const variable of this.#variables()) {
      const saved = state.weights.find((w) => w.name === variable.name);
      if (saved === undefined) throw new Error(`checkpoint has no weights named ${variable.name}`);
      if (saved.shape.join('x') !== variable.shape.join('x')) {
        throw new Error(
          `checkpoint ${variable.name} has shape [${saved.shape}], model has [${variable.shape}]`,
        );
      }
      tf.tidy(() => variable.assign(tf.tensor(saved.values, saved.shape)));
    }
    const tensors = state.optimizer.map((w) => ({
      name: w.name,
      tensor: tf.tensor(w.values, w.shape),
    }));
    await this.#optimizer.setWeights(tensors);
    tf.dispose(tensors.map((t) => t.tensor));
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

async function toNamedArray(name: string, tensor: tf.Tensor): Promise<NamedArray> {
  const values = await tensor.data();
  if (!(values instanceof Float32Array) && !(values instanceof Int32Array)) {
    throw new Error(`tensor ${name} has unsupported dtype ${tensor.dtype}`);
  }
  return { name, shape: [...tensor.shape], values };
}
