import * as tf from '@tensorflow/tfjs';

/** A tensor's values outside tfjs, for checkpoints. */
export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array | Int32Array;
}

/** Everything a checkpoint must hold for training to continue exactly where it stopped. */
export interface ModelState {
  weights: NamedArray[];
  /** Adam's iteration count and moment estimates, in the order tfjs expects them back. */
  optimizer: NamedArray[];
}

/**
 * Copies `variables` and the optimizer's state out of tfjs. Adam keeps its moments by the
 * position of each variable in the list it was given, so callers pass their fixed-order list.
 */
export async function exportModelState(
  variables: readonly tf.Variable[],
  optimizer: tf.Optimizer,
): Promise<ModelState> {
  const weights = await Promise.all(variables.map((v) => toNamedArray(v.name, v)));
  const saved = await optimizer.getWeights();
  const moments = await Promise.all(saved.map((w) => toNamedArray(w.name, w.tensor)));
  // The moments are the optimizer's own variables; the step count is a fresh scalar to free.
  tf.dispose(saved.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  return { weights, optimizer: moments };
}

/** Restores what `exportModelState` wrote; every variable must be present with its shape. */
export async function importModelState(
  variables: readonly tf.Variable[],
  optimizer: tf.Optimizer,
  state: ModelState,
): Promise<void> {
  for (const variable of variables) {
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
  await optimizer.setWeights(tensors);
  tf.dispose(tensors.map((t) => t.tensor));
}

async function toNamedArray(name: string, tensor: tf.Tensor): Promise<NamedArray> {
  const values = await tensor.data();
  if (!(values instanceof Float32Array) && !(values instanceof Int32Array)) {
    throw new Error(`tensor ${name} has unsupported dtype ${tensor.dtype}`);
  }
  return { name, shape: [...tensor.shape], values };
}
