import * as tf from '@tensorflow/tfjs';

/**
 * Matrix products whose gradients avoid transposed matMul. tfjs differentiates `a @ b` into
 * `dy @ bᵀ` and `aᵀ @ dy` by passing transpose flags to BatchMatMul, and the WebAssembly backend
 * (4.22) computes flagged products in a plain loop instead of XNNPACK: measured 10-40 times slower
 * than transposing first (a cheap copy) and multiplying plainly, e.g. 400 ms instead of 30 ms for
 * [2048, 1024] @ [1024, 64] on this project's 2-core machine.
 */

/** `a @ b` for a [m, k] and b [k, n]. */
export function dense(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return denseOp(a, b) as tf.Tensor2D;
}

/** Batched `a @ b` for a [batch, m, k] and b [batch, k, n]. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return batchOp(a, b) as tf.Tensor3D;
}

const denseOp = productWithPlainGradients((t) => tf.transpose(t));
const batchOp = productWithPlainGradients((t) => tf.transpose(t, [0, 2, 1]));

function productWithPlainGradients(transpose: (t: tf.Tensor) => tf.Tensor) {
  return tf.customGrad((...args: unknown[]) => {
    const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, y] = saved as [tf.Tensor, tf.Tensor];
        return [tf.matMul(dy, transpose(y)), tf.matMul(transpose(x), dy)];
      },
    };
  });
}
