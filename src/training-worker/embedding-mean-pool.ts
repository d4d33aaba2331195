import {
  engine,
  type GradConfig,
  type KernelConfig,
  type NamedAttrMap,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
} from '@tensorflow/tfjs';
import { checkedTokenId, floatView, input, intView, wasmBackend } from './wasm-heap.js';

/** Kernel names are global in tfjs; the prefix keeps ours from meeting anyone else's. */
export const EMBEDDING_MEAN_POOL = 'Automat0EmbeddingMeanPool';
export const EMBEDDING_MEAN_POOL_GRAD = 'Automat0EmbeddingMeanPoolGrad';

/**
 * Looks up each row's first `lengths[b]` token embeddings and averages them: the masked mean of
 * `gather(table, ids)` over real tokens, as one op. Fused because the wasm backend's generic
 * Gather copies element by element (~40 ms for 8 192 rows of 64) and the padded positions would
 * be gathered, masked and summed for nothing. The gradient w.r.t. `table` is exact and dense.
 *
 * @param table [vocab, embed] float32 (trainable)
 * @param ids [batch, seqLen] int32 token ids; every id before `lengths[b]` must be below vocab
 * @param lengths [batch] int32 count of real tokens per row; 0 yields a zero vector
 */
export function embeddingMeanPool(table: Tensor2D, ids: Tensor2D, lengths: Tensor1D): Tensor2D {
  const attrs: NamedAttrMap = { vocabSize: table.shape[0] };
  return engine().runKernel(EMBEDDING_MEAN_POOL, { table, ids, lengths }, attrs) as Tensor2D;
}

export const embeddingMeanPoolKernel: KernelConfig = {
  kernelName: EMBEDDING_MEAN_POOL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: rawBackend }) => {
    const backend = wasmBackend(rawBackend);
    const table = input(inputs, 'table');
    const ids = input(inputs, 'ids');
    const lengths = input(inputs, 'lengths');
    const [vocab = 0, embed = 0] = table.shape;
    const [batch = 0, seqLen = 0] = ids.shape;

    const out = backend.makeOutput([batch, embed], 'float32');
    const pooled = floatView(backend, out);
    const weights = floatView(backend, table);
    const tokens = intView(backend, ids);
    const counts = intView(backend, lengths);
    pooled.fill(0);
    for (let b = 0; b < batch; b++) {
      const n = realTokens(counts[b], seqLen);
      const scale = n === 0 ? 0 : 1 / n;
      for (let s = 0; s < n; s++) {
        const from = checkedTokenId(tokens[b * seqLen + s], vocab, out.dataId, backend) * embed;
        addScaledRow(pooled, b * embed, weights, from, embed, scale);
      }
    }
    return out;
  },
};

/** dTable[id] += dy[b] / lengths[b] for every real token of row b; all other rows stay 0. */
export const embeddingMeanPoolGradKernel: KernelConfig = {
  kernelName: EMBEDDING_MEAN_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: rawBackend, attrs }) => {
    const backend = wasmBackend(rawBackend);
    const dy = input(inputs, 'dy');
    const ids = input(inputs, 'ids');
    const lengths = input(inputs, 'lengths');
    const vocab = Number(attrs?.['vocabSize']);
    const [batch = 0, embed = 0] = dy.shape;
    const seqLen = ids.shape[1] ?? 0;

    const out = backend.makeOutput([vocab, embed], 'float32');
    const grad = floatView(backend, out);
    const upstream = floatView(backend, dy);
    const tokens = intView(backend, ids);
    const counts = intView(backend, lengths);
    grad.fill(0);
    for (let b = 0; b < batch; b++) {
      const n = realTokens(counts[b], seqLen);
      if (n === 0) continue;
      const scale = 1 / n;
      const from = b * embed;
      for (let s = 0; s < n; s++) {
        const to = checkedTokenId(tokens[b * seqLen + s], vocab, out.dataId, backend) * embed;
        addScaledRow(grad, to, upstream, from, embed, scale);
      }
    }
    return out;
  },
};

export const embeddingMeanPoolGrad: GradConfig = {
  kernelName: EMBEDDING_MEAN_POOL,
  inputsToSave: ['ids', 'lengths'],
  gradFunc: (dy, saved, attrs) => {
    const [ids, lengths] = saved as [Tensor, Tensor];
    const upstream = (Array.isArray(dy) ? dy[0] : dy) as Tensor;
    const gradAttrs: NamedAttrMap = { vocabSize: attrs['vocabSize'] as number };
    const inputs = { dy: upstream, ids, lengths };
    return {
      table: () => engine().runKernel(EMBEDDING_MEAN_POOL_GRAD, inputs, gradAttrs) as Tensor,
    };
  },
};

/** target[at..at+width) += scale * source[from..from+width) */
function addScaledRow(
  target: Float32Array,
  at: number,
  source: Float32Array,
  from: number,
  width: number,
  scale: number,
): void {
  for (let k = 0; k < width; k++) {
    target[at + k] = (target[at + k] as number) + (source[from + k] as number) * scale;
  }
}

function realTokens(length: number | undefined, seqLen: number): number {
  return Math.min(Math.max(length ?? 0, 0), seqLen);
}
