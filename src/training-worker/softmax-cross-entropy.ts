import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { checkedTokenId, floatView, input, intView, wasmBackend } from './wasm-heap.js';

export const SOFTMAX_CROSS_ENTROPY = 'Automat0SoftmaxCrossEntropy';
export const TOKEN_SCORES = 'Automat0TokenScores';

/**
 * Mean cross-entropy of `softmax(logits + bias)` against integer labels, differentiable with
 * respect to `logits` and `bias`. One kernel computes the loss and both gradients in three passes
 * over the [n, vocab] logits. Written out in tfjs ops (bias add, logSoftmax, one-hot, their
 * gradients and the bias's column sum) the same step made about ten passes, and with a
 * vocabulary in the thousands those passes cost more than the rest of the model.
 *
 * @param logits [n, vocab] float32
 * @param bias [vocab] float32, added to every row
 * @param labels [n] int32, every one below vocab
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor2D,
  bias: tf.Tensor1D,
  labels: tf.Tensor1D,
): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const [x, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const [losses, dLogits, dBias] = tf
      .engine()
      .runKernel(SOFTMAX_CROSS_ENTROPY, { logits: x, bias: b, labels }) as tf.Tensor[];
    save([dLogits as tf.Tensor, dBias as tf.Tensor]);
    return {
      value: tf.mean(losses as tf.Tensor) as tf.Scalar,
      // The kernel already divided by n; what is left is the upstream scalar (1 for a loss).
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((g) => tf.mul(g, dy)),
    };
  });
  return op(logits, bias) as tf.Scalar;
}

/** Per-token cross-entropy and top-1 correctness (1 or 0), without gradients; for validation. */
export function tokenScores(
  logits: tf.Tensor2D,
  bias: tf.Tensor1D,
  labels: tf.Tensor1D,
): { losses: tf.Tensor1D; correct: tf.Tensor1D } {
  const [losses, correct] = tf.engine().runKernel(TOKEN_SCORES, { logits, bias, labels }) as [
    tf.Tensor1D,
    tf.Tensor1D,
  ];
  return { losses, correct };
}

/** Outputs: losses [n], dLogits [n, vocab] (already divided by n), dBias [vocab]. */
export const softmaxCrossEntropyKernel: KernelConfig = {
  kernelName: SOFTMAX_CROSS_ENTROPY,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: rawBackend }) => {
    const backend = wasmBackend(rawBackend);
    const { rows, vocab, logitsInfo, biasInfo, labelsInfo } = shapes(inputs);
    const lossOut = backend.makeOutput([rows], 'float32');
    const gradOut = backend.makeOutput([rows, vocab], 'float32');
    const biasOut = backend.makeOutput([vocab], 'float32');
    const x = floatView(backend, logitsInfo);
    const b = floatView(backend, biasInfo);
    const y = intView(backend, labelsInfo);
    const losses = floatView(backend, lossOut);
    const g = floatView(backend, gradOut);
    const db = floatView(backend, biasOut);
    db.fill(0);
    const invRows = 1 / Math.max(rows, 1);
    const release = freeing(backend, gradOut, biasOut);
    for (let r = 0; r < rows; r++) {
      const base = r * vocab;
      const label = checkedTokenId(y[r], vocab, lossOut.dataId, release);
      const max = rowMax(x, b, base, vocab);
      let sum = 0;
      for (let k = 0; k < vocab; k++) {
        const e = Math.exp((x[base + k] as number) + (b[k] as number) - max);
        g[base + k] = e;
        sum += e;
      }
      losses[r] = Math.log(sum) + max - ((x[base + label] as number) + (b[label] as number));
      const scale = invRows / sum;
      for (let k = 0; k < vocab; k++) {
        const grad = (g[base + k] as number) * scale;
        g[base + k] = grad;
        db[k] = (db[k] as number) + grad;
      }
      g[base + label] = (g[base + label] as number) - invRows;
      db[label] = (db[label] as number) - invRows;
    }
    return [lossOut, gradOut, biasOut];
  },
};

/** Outputs: losses [n], correct [n] (1 when the arg-max of the row is the label, ties to the lowest). */
export const tokenScoresKernel: KernelConfig = {
  kernelName: TOKEN_SCORES,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: rawBackend }) => {
    const backend = wasmBackend(rawBackend);
    const { rows, vocab, logitsInfo, biasInfo, labelsInfo } = shapes(inputs);
    const lossOut = backend.makeOutput([rows], 'float32');
    const correctOut = backend.makeOutput([rows], 'float32');
    const x = floatView(backend, logitsInfo);
    const b = floatView(backend, biasInfo);
    const y = intView(backend, labelsInfo);
    const losses = floatView(backend, lossOut);
    const correct = floatView(backend, correctOut);
    const release = freeing(backend, correctOut);
    for (let r = 0; r < rows; r++) {
      const base = r * vocab;
      const label = checkedTokenId(y[r], vocab, lossOut.dataId, release);
      let max = -Infinity;
      let best = 0;
      for (let k = 0; k < vocab; k++) {
        const value = (x[base + k] as number) + (b[k] as number);
        if (value > max) {
          max = value;
          best = k;
        }
      }
      let sum = 0;
      for (let k = 0; k < vocab; k++)
        sum += Math.exp((x[base + k] as number) + (b[k] as number) - max);
      losses[r] = Math.log(sum) + max - ((x[base + label] as number) + (b[label] as number));
      correct[r] = best === label ? 1 : 0;
    }
    return [lossOut, correctOut];
  },
};

function shapes(inputs: Record<string, TensorInfo | undefined>) {
  const logitsInfo = input(inputs, 'logits');
  const [rows = 0, vocab = 0] = logitsInfo.shape;
  return {
    rows,
    vocab,
    logitsInfo,
    biasInfo: input(inputs, 'bias'),
    labelsInfo: input(inputs, 'labels'),
  };
}

function rowMax(x: Float32Array, b: Float32Array, base: number, vocab: number): number {
  let max = -Infinity;
  for (let k = 0; k < vocab; k++) {
    const value = (x[base + k] as number) + (b[k] as number);
    if (value > max) max = value;
  }
  return max;
}

/** A disposer for `checkedTokenId` that also frees the kernel's other outputs. */
function freeing(
  backend: { disposeData(dataId: object): boolean },
  ...others: TensorInfo[]
): { disposeData(dataId: object): boolean } {
  return {
    disposeData: (dataId) => {
      for (const other of others) backend.disposeData(other.dataId);
      return backend.disposeData(dataId);
    },
  };
}
