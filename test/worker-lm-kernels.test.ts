import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchMatMul, dense } from '../src/training-worker/dense-matmul.js';
import { embeddingLookup } from '../src/training-worker/embedding-lookup.js';
import { softmaxCrossEntropy, tokenScores } from '../src/training-worker/softmax-cross-entropy.js';
import { initWasmBackend } from '../src/training-worker/wasm-backend.js';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? Number.NaN);
}

/** Gradients of `loss` with respect to `inputs`, as plain tensors. */
function gradients(loss: (...inputs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[]): tf.Tensor[] {
  return tf.grads(loss)(inputs);
}

describe('language-model kernels on the tfjs WebAssembly backend', () => {
  beforeAll(async () => {
    await initWasmBackend();
  });

  it('embeddingLookup equals gather, value and gradient', () => {
    const table = tf.randomNormal([30, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const ids = tf.tensor1d([3, 0, 29, 3, 7], 'int32');
    const head = tf.randomNormal([4, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const loss = (lookup: (t: tf.Tensor2D) => tf.Tensor) => (t: tf.Tensor) =>
      tf.sum(tf.square(tf.matMul(lookup(t as tf.Tensor2D) as tf.Tensor2D, head))) as tf.Scalar;

    const fused = embeddingLookup(table, ids);
    const reference = tf.gather(table, ids);
    expect(maxAbsDiff(fused, reference)).toBe(0);
    const [fusedGrad] = gradients(
      loss((t) => embeddingLookup(t, ids)),
      [table],
    );
    const [referenceGrad] = gradients(
      loss((t) => tf.gather(t, ids)),
      [table],
    );
    expect(maxAbsDiff(fusedGrad as tf.Tensor, referenceGrad as tf.Tensor)).toBeLessThan(1e-5);
    tf.dispose([
      table,
      ids,
      head,
      fused,
      reference,
      fusedGrad as tf.Tensor,
      referenceGrad as tf.Tensor,
    ]);
  });

  it('softmaxCrossEntropy equals the mean softmax cross-entropy of logits + bias, with both gradients', () => {
    const [rows, vocab] = [6, 11];
    const logits = tf.randomNormal([rows, vocab], 0, 3, 'float32', 3) as tf.Tensor2D;
    const bias = tf.randomNormal([vocab], 0, 1, 'float32', 4) as tf.Tensor1D;
    const labels = tf.tensor1d([0, 10, 5, 5, 2, 9], 'int32');
    const fused = (x: tf.Tensor, b: tf.Tensor) =>
      tf.mul(softmaxCrossEntropy(x as tf.Tensor2D, b as tf.Tensor1D, labels), 3) as tf.Scalar;
    const reference = (x: tf.Tensor, b: tf.Tensor) =>
      tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(labels, vocab), tf.add(x, b)), 3) as tf.Scalar;

    const [value, expected] = [fused(logits, bias), reference(logits, bias)];
    expect(Math.abs((value.dataSync()[0] ?? 0) - (expected.dataSync()[0] ?? 1))).toBeLessThan(1e-5);
    const fusedGrads = gradients(fused, [logits, bias]);
    const referenceGrads = gradients(reference, [logits, bias]);
    fusedGrads.forEach((grad, i) => {
      expect(maxAbsDiff(grad, referenceGrads[i] as tf.Tensor)).toBeLessThan(1e-5);
    });
    tf.dispose([logits, bias, labels, value, expected, ...fusedGrads, ...referenceGrads]);
  });

  it('tokenScores gives each row its cross-entropy and whether the label was the top guess', () => {
    const logits = tf.tensor2d([2, 1, 0, 0, 0, 5, 1, 1, 1], [3, 3]);
    const bias = tf.tensor1d([0, 0, 0]);
    const labels = tf.tensor1d([0, 0, 2], 'int32');
    const { losses, correct } = tokenScores(logits, bias, labels);
    const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    const expected = [lse([2, 1, 0]) - 2, lse([0, 0, 5]) - 0, lse([1, 1, 1]) - 1];
    Array.from(losses.dataSync()).forEach((loss, i) => {
      expect(loss).toBeCloseTo(expected[i] as number, 5);
    });
    // A three-way tie goes to the lowest id, so label 2 is not the top guess.
    expect(Array.from(correct.dataSync())).toEqual([1, 0, 0]);
    tf.dispose([logits, bias, labels, losses, correct]);
  });

  it('refuses a label outside the vocabulary, naming it', () => {
    const logits = tf.zeros([2, 4]) as tf.Tensor2D;
    const bias = tf.zeros([4]) as tf.Tensor1D;
    const labels = tf.tensor1d([1, 4], 'int32');
    expect(() => softmaxCrossEntropy(logits, bias, labels)).toThrow(
      /token id 4 is outside the vocabulary \[0, 4\)/,
    );
    expect(() => tokenScores(logits, bias, labels)).toThrow(/token id 4/);
    tf.dispose([logits, bias, labels]);
  });

  it('dense and batchMatMul have the gradients of matMul', () => {
    const a = tf.randomNormal([5, 3], 0, 1, 'float32', 5);
    const b = tf.randomNormal([3, 4], 0, 1, 'float32', 6);
    const c = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 7);
    const d = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 8);
    const square = (t: tf.Tensor) => tf.sum(tf.square(t)) as tf.Scalar;
    const pairs: Array<[tf.Tensor[], tf.Tensor[]]> = [
      [
        gradients((x, y) => square(dense(x as tf.Tensor2D, y as tf.Tensor2D)), [a, b]),
        gradients((x, y) => square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)), [a, b]),
      ],
      [
        gradients((x, y) => square(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D)), [c, d]),
        gradients((x, y) => square(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D)), [c, d]),
      ],
    ];
    for (const [ours, stock] of pairs) {
      ours.forEach((grad, i) => expect(maxAbsDiff(grad, stock[i] as tf.Tensor)).toBeLessThan(1e-4));
      tf.dispose([...ours, ...stock]);
    }
    tf.dispose([a, b, c, d]);
  });
});
