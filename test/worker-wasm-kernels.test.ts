import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddingMeanPool } from '../src/training-worker/embedding-mean-pool.js';
import { initWasmBackend } from '../src/training-worker/wasm-backend.js';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? Number.NaN);
}

describe('kernels added to the tfjs WebAssembly backend', () => {
  beforeAll(async () => {
    await initWasmBackend();
  });

  it('runs on the wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  it('UnsortedSegmentSum sums rows into segments and skips negative ids', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const ids = tf.tensor1d([2, 0, 2, -1], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);
    expect(() => tf.unsortedSegmentSum(x, tf.tensor1d([0, 0, 0, 3], 'int32'), 3)).toThrow(
      /segment id 3 is not below numSegments 3/,
    );
    tf.dispose([x, ids, out]);
  });

  it('lets gather (an embedding lookup) be differentiated on wasm', () => {
    const table = tf.tensor2d([1, 1, 2, 2, 3, 3], [3, 2]);
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table);
    expect(Array.from(grad.dataSync())).toEqual([1, 1, 0, 0, 2, 2]);
    tf.dispose([table, ids, grad]);
  });

  it('embeddingMeanPool equals the masked mean of gathered rows, value and gradient', () => {
    const [vocab, embed, seqLen] = [50, 4, 5];
    const table = tf.variable<tf.Rank.R2>(tf.randomNormal([vocab, embed], 0, 1, 'float32', 3));
    const ids = tf.tensor2d([1, 2, 3, 0, 0, 4, 4, 9, 4, 4, 7, 0, 0, 0, 0], [3, seqLen], 'int32');
    const lengths = tf.tensor1d([3, 5, 0], 'int32');
    const mask = tf.tensor3d([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [3, seqLen, 1]);
    const head = tf.randomNormal([embed, 2], 0, 1, 'float32', 4);
    const fused = (): tf.Tensor2D => embeddingMeanPool(table, ids, lengths);
    const reference = (): tf.Tensor =>
      tf.div(tf.sum(tf.mul(tf.gather(table, ids), mask), 1), tf.maximum(tf.sum(mask, 1), 1));
    const loss = (pool: () => tf.Tensor) => (): tf.Scalar =>
      tf.sum(tf.square(tf.matMul(pool() as tf.Tensor2D, head)));

    const [fusedValue, referenceValue] = [fused(), reference()];
    expect(maxAbsDiff(fusedValue, referenceValue)).toBeLessThan(1e-6);
    const fusedGrad = tf.variableGrads(loss(fused)).grads[table.name] as tf.Tensor;
    const referenceGrad = tf.variableGrads(loss(reference)).grads[table.name] as tf.Tensor;
    expect(maxAbsDiff(fusedGrad, referenceGrad)).toBeLessThan(1e-5);
    expect(tf.tidy(() => tf.sum(tf.abs(fusedGrad)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([table, ids, lengths, mask, head, fusedValue, referenceValue]);
    tf.dispose([fusedGrad, referenceGrad]);
  });

  it('refuses a token id outside the vocabulary, naming it', () => {
    const table = tf.zeros([10, 2]) as tf.Tensor2D;
    const ids = tf.tensor2d([3, 12], [1, 2], 'int32');
    const lengths = tf.tensor1d([2], 'int32');
    expect(() => embeddingMeanPool(table, ids, lengths)).toThrow(
      /token id 12 is outside the vocabulary \[0, 10\)/,
    );
    tf.dispose([table, ids, lengths]);
  });
});
