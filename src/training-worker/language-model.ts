import * as tf from '@tensorflow/tfjs';
import { batchMatMul, dense } from './dense-matmul.js';
import { embeddingLookup } from './embedding-lookup.js';
import { exportModelState, importModelState, type ModelState } from './model-state.js';
import { softmaxCrossEntropy, tokenScores } from './softmax-cross-entropy.js';
import type { BlockBatch } from './token-blocks.js';

export interface LanguageModelSettings {
  vocabSize: number;
  embedDim: number;
  /** Tokens per input window; position embeddings exist for exactly this many. */
  seqLen: number;
  learningRate: number;
  /** Seeds the initial weights. */
  seed: number;
}

export interface TokenEvaluation {
  /** Mean cross-entropy per target token in nats; NaN for an empty split. */
  loss: number;
  /** Fraction of target tokens that were the model's top guess; NaN for an empty split. */
  accuracy: number;
  tokens: number;
}

/** Hidden width of the feed-forward layer, as a multiple of embed_dim (as in GPT-2). */
const FFN_MULTIPLE = 4;
/** Added to attention scores above the diagonal, so no position sees the tokens after it. */
const MASKED = -1e9;
const NORM_EPSILON = 1e-5;

type WeightName = (typeof WEIGHT_NAMES)[number];

/** In a fixed order: checkpoints and Adam's moments line up by it. */
const WEIGHT_NAMES = [
  'embedding',
  'position',
  'norm1/gain',
  'norm1/bias',
  'attention/query',
  'attention/key',
  'attention/value',
  'attention/out',
  'norm2/gain',
  'norm2/bias',
  'ffn/in',
  'ffn/in_bias',
  'ffn/out',
  'ffn/out_bias',
  'norm_final/gain',
  'norm_final/bias',
  'output',
  'output/bias',
] as const;

/**
 * A one-block causal transformer language model: token embedding [vocab, embed] plus learned
 * position embedding → pre-norm single-head causal self-attention → pre-norm feed-forward (ReLU,
 * 4 × embed) → layer norm → dense [embed, vocab] → softmax over the vocabulary, trained with
 * Adam on the mean cross-entropy of every next token. No dropout, so a run is a pure function of
 * the seed and the data order; that is what lets a resumed run match an uninterrupted one.
 *
 * The softmax over the vocabulary dominates the cost; see docs/generation.md for measurements.
 * Only one instance may live in a process: variable names are fixed so checkpoints line up.
 */
export class LanguageModel {
  readonly #settings: LanguageModelSettings;
  readonly #weights: Record<WeightName, tf.Variable>;
  readonly #optimizer: tf.AdamOptimizer;
  readonly #mask: tf.Tensor2D;

  constructor(settings: LanguageModelSettings) {
    this.#settings = settings;
    this.#weights = createWeights(settings);
    this.#optimizer = tf.train.adam(settings.learningRate);
    const { seqLen } = settings;
    this.#mask = tf.tidy(() =>
      tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0)), MASKED),
    );
  }

  /** One Adam step on `batch`; returns its mean cross-entropy per token before the update. */
  trainStep(batch: BlockBatch): number {
    const loss = this.#optimizer.minimize(
      () => {
        const targets = tf.tensor1d(batch.targets, 'int32');
        const logits = this.#logits(batch);
        return softmaxCrossEntropy(logits, this.#outputBias(), targets);
      },
      true,
      this.#variables(),
    );
    if (loss === null) throw new Error('the optimizer returned no loss');
    const value = loss.dataSync()[0] ?? Number.NaN;
    loss.dispose();
    return value;
  }

  /** Cross-entropy and top-1 accuracy over every target token of `batches`, without training. */
  evaluate(batches: Iterable<BlockBatch>): TokenEvaluation {
    let lossSum = 0;
    let correct = 0;
    let tokens = 0;
    for (const batch of batches) {
      const scores = tf.tidy(() => {
        const targets = tf.tensor1d(batch.targets, 'int32');
        return tokenScores(this.#logits(batch), this.#outputBias(), targets);
      });
      // Summed in float64: a float32 sum over a whole split would lose digits.
      for (const value of scores.losses.dataSync()) lossSum += value;
      for (const value of scores.correct.dataSync()) correct += value;
      tokens += batch.size * batch.seqLen;
      tf.dispose([scores.losses, scores.correct]);
    }
    return { loss: lossSum / tokens, accuracy: correct / tokens, tokens };
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
    tf.dispose([...this.#variables(), this.#mask]);
  }

  #variables(): tf.Variable[] {
    return WEIGHT_NAMES.map((name) => this.#weights[name]);
  }

  #w(name: WeightName): tf.Variable {
    return this.#weights[name];
  }

  /** Added to the logits inside the loss kernels rather than as a separate [tokens, vocab] op. */
  #outputBias(): tf.Tensor1D {
    return this.#weights['output/bias'] as tf.Tensor1D;
  }

  /** [size × seqLen, vocab] logits before the output bias (the loss kernels add it). */
  #logits(batch: BlockBatch): tf.Tensor2D {
    const { embedDim, seqLen } = this.#settings;
    const rows = batch.size * seqLen;
    const ids = tf.tensor1d(batch.inputs, 'int32');
    const tokens = tf.reshape(embeddingLookup(this.#w('embedding') as tf.Tensor2D, ids), [
      batch.size,
      seqLen,
      embedDim,
    ]);
    let x = tf.reshape(tf.add(tokens, this.#w('position')), [rows, embedDim]) as tf.Tensor2D;
    x = tf.add(x, this.#attention(this.#norm(x, 'norm1'), batch.size));
    x = tf.add(x, this.#feedForward(this.#norm(x, 'norm2')));
    return dense(this.#norm(x, 'norm_final'), this.#w('output') as tf.Tensor2D);
  }

  #attention(h: tf.Tensor2D, batchSize: number): tf.Tensor2D {
    const { embedDim, seqLen } = this.#settings;
    const project = (name: WeightName): tf.Tensor3D =>
      tf.reshape(dense(h, this.#w(name) as tf.Tensor2D), [batchSize, seqLen, embedDim]);
    const query = tf.mul(project('attention/query'), 1 / Math.sqrt(embedDim)) as tf.Tensor3D;
    const key = project('attention/key');
    const value = project('attention/value');
    const scores = tf.add(batchMatMul(query, tf.transpose(key, [0, 2, 1])), this.#mask);
    const mixed = batchMatMul(tf.softmax(scores) as tf.Tensor3D, value);
    const flat = tf.reshape(mixed, [batchSize * seqLen, embedDim]) as tf.Tensor2D;
    return dense(flat, this.#w('attention/out') as tf.Tensor2D);
  }

  #feedForward(h: tf.Tensor2D): tf.Tensor2D {
    const inner = tf.relu(
      tf.add(dense(h, this.#w('ffn/in') as tf.Tensor2D), this.#w('ffn/in_bias')),
    );
    return tf.add(
      dense(inner as tf.Tensor2D, this.#w('ffn/out') as tf.Tensor2D),
      this.#w('ffn/out_bias'),
    );
  }

  #norm(x: tf.Tensor2D, prefix: 'norm1' | 'norm2' | 'norm_final'): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPSILON)));
    return tf.add(tf.mul(normalized, this.#w(`${prefix}/gain`)), this.#w(`${prefix}/bias`));
  }
}

/** Seeded initial weights: small normal embeddings, fan-in scaled projections, unit norms. */
function createWeights(settings: LanguageModelSettings): Record<WeightName, tf.Variable> {
  const { vocabSize: vocab, embedDim: d, seqLen, seed } = settings;
  const hidden = FFN_MULTIPLE * d;
  const fanIn = (n: number) => 1 / Math.sqrt(n);
  // Layers that write into the residual stream start at half scale, so the block begins close
  // to the identity and the embeddings carry the first steps.
  const specs: Record<WeightName, { shape: number[]; std?: number; fill?: number }> = {
    embedding: { shape: [vocab, d], std: 0.05 },
    position: { shape: [seqLen, d], std: 0.05 },
    'norm1/gain': { shape: [d], fill: 1 },
    'norm1/bias': { shape: [d], fill: 0 },
    'attention/query': { shape: [d, d], std: fanIn(d) },
    'attention/key': { shape: [d, d], std: fanIn(d) },
    'attention/value': { shape: [d, d], std: fanIn(d) },
    'attention/out': { shape: [d, d], std: fanIn(d) / 2 },
    'norm2/gain': { shape: [d], fill: 1 },
    'norm2/bias': { shape: [d], fill: 0 },
    'ffn/in': { shape: [d, hidden], std: fanIn(d) },
    'ffn/in_bias': { shape: [hidden], fill: 0 },
    'ffn/out': { shape: [hidden, d], std: fanIn(hidden) / 2 },
    'ffn/out_bias': { shape: [d], fill: 0 },
    'norm_final/gain': { shape: [d], fill: 1 },
    'norm_final/bias': { shape: [d], fill: 0 },
    output: { shape: [d, vocab], std: fanIn(d) / 2 },
    'output/bias': { shape: [vocab], fill: 0 },
  };
  const weights = {} as Record<WeightName, tf.Variable>;
  WEIGHT_NAMES.forEach((name, index) => {
    const { shape, std, fill } = specs[name];
    // tidy frees the initial tensor's handle; the variable keeps the values.
    weights[name] = tf.tidy(() => {
      const initial =
        std === undefined
          ? tf.fill(shape, fill ?? 0)
          : tf.randomNormal(shape, 0, std, 'float32', seed + index);
      return tf.variable(initial, true, `automat0/lm/${name}`);
    });
  });
  return weights;
}
