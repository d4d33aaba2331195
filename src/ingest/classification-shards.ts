import { AutomatError, ErrorCodes } from '../errors/index.js';
import { splitRows } from './dataset-split.js';
import { GrowableInt32 } from './growable-int32.js';
import { ShardArrayWriter } from './shard-array-writer.js';
import type { ShardSplit } from './shard-manifest.js';
import { TokenSpill } from './token-spill.js';
import type { TokenizeOutput } from './tokenize-task.js';

/** What a collector leaves in the staging folder, ready for the manifest. */
export interface BuiltSplits {
  /** Classification: label names sorted by UTF-16 code unit. Generation: empty. */
  labels: string[];
  train: ShardSplit;
  validation: ShardSplit;
  /** Real (unpadded) tokens written over both splits. */
  tokens: number;
}

/** Rows copied between two yields to the event loop. */
const ROWS_PER_SLICE = 4096;

/**
 * Gathers padded classification rows as batches arrive (ids to a spill file, labels and lengths
 * in memory), then writes stratified train and validation shards: labels become indices into the
 * sorted label names and rows are split by `splitRows`.
 */
export class ClassificationCollector {
  readonly #spill: TokenSpill;
  readonly #seqLen: number;
  readonly #lengths = new GrowableInt32();
  /** Label of each row as its index in order of first appearance. */
  readonly #firstSeen = new GrowableInt32();
  readonly #names = new Map<string, number>();
  /** The dataset's name, for errors. */
  readonly #dataset: string;
  truncated = 0;

  private constructor(spill: TokenSpill, seqLen: number, dataset: string) {
    this.#spill = spill;
    this.#seqLen = seqLen;
    this.#dataset = dataset;
  }

  static async create(
    folder: string,
    seqLen: number,
    dataset: string,
  ): Promise<ClassificationCollector> {
    return new ClassificationCollector(await TokenSpill.create(folder), seqLen, dataset);
  }

  get rows(): number {
    return this.#lengths.length;
  }

  async add(output: TokenizeOutput, labels: string[]): Promise<void> {
    await this.#spill.append(output.ids);
    this.#lengths.append(output.lengths);
    for (const label of labels) {
      let index = this.#names.get(label);
      if (index === undefined) {
        index = this.#names.size;
        this.#names.set(label, index);
      }
      this.#firstSeen.push(index);
    }
    this.truncated += output.truncated;
  }

  /** Drops the spill file, for a build that ends without writing. Idempotent. */
  discard(): Promise<void> {
    return this.#spill.remove();
  }

  async write(folder: string, seed: number, valFraction: number): Promise<BuiltSplits> {
    await this.#spill.seal();
    try {
      const labels = [...this.#names.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (labels.length < 2) {
        // A classifier of one class learns nothing, and the worker would fail on it anyway.
        throw new AutomatError(
          ErrorCodes.DATASET_INVALID,
          `dataset ${this.#dataset}: a classification dataset needs at least 2 distinct ` +
            `labels, found ${labels.length}` +
            (labels.length === 1 ? ` (${JSON.stringify(labels[0])})` : ''),
        );
      }
      const sortedIndex = new Map(labels.map((name, index) => [name, index]));
      const remap = Int32Array.from(this.#names.keys(), (name) => sortedIndex.get(name) as number);
      const groups = this.#firstSeen.view().map((first) => remap[first] as number);
      const split = splitRows(groups, seed, valFraction);
      const train = await this.#writeSplit(folder, 'train', split.train, groups);
      const validation = await this.#writeSplit(folder, 'validation', split.validation, groups);
      return {
        labels,
        train: train.split,
        validation: validation.split,
        tokens: train.tokens + validation.tokens,
      };
    } finally {
      await this.#spill.remove();
    }
  }

  async #writeSplit(folder: string, name: string, order: Int32Array, groups: Int32Array) {
    const seqLen = this.#seqLen;
    const allLengths = this.#lengths.view();
    const tokens = await ShardArrayWriter.create(folder, `${name}.tokens.i32`);
    const row = new Int32Array(seqLen);
    const labels = new Int32Array(order.length);
    const lengths = new Int32Array(order.length);
    let real = 0;
    for (let out = 0; out < order.length; out += 1) {
      const source = order[out] as number;
      this.#spill.read(source * seqLen, row);
      await tokens.append(row);
      labels[out] = groups[source] as number;
      lengths[out] = allLengths[source] as number;
      real += lengths[out] as number;
      if (out % ROWS_PER_SLICE === ROWS_PER_SLICE - 1) await this.#spill.breathe();
    }
    const split: ShardSplit = {
      rows: order.length,
      tokens: await tokens.close([order.length, seqLen]),
      labels: await writeWhole(folder, `${name}.labels.i32`, labels),
      lengths: await writeWhole(folder, `${name}.lengths.i32`, lengths),
    };
    return { split, tokens: real };
  }
}

async function writeWhole(folder: string, file: string, values: Int32Array) {
  const writer = await ShardArrayWriter.create(folder, file);
  await writer.append(values);
  return writer.close([values.length]);
}
