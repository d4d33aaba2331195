import type { BuiltSplits } from './classification-shards.js';
import { splitRows } from './dataset-split.js';
import { GrowableInt32 } from './growable-int32.js';
import { ShardArrayWriter } from './shard-array-writer.js';
import type { ShardSplit } from './shard-manifest.js';
import { TokenSpill } from './token-spill.js';
import type { TokenizeOutput } from './tokenize-task.js';

/** Ids copied per read while packing: bounds memory for documents of any length. */
const CHUNK_IDS = 1 << 18;

/**
 * Gathers documents' ids as batches arrive (to a spill file), then packs them into contiguous
 * blocks of `columns` (seq_len + 1) ids: a block's first seq_len ids are the inputs and its last
 * seq_len the targets. Documents are split between train and validation before packing, so no
 * document contributes to both. Each split's tail that does not fill a block is dropped; a split
 * left without a single block holds zero rows.
 */
export class GenerationCollector {
  readonly #spill: TokenSpill;
  readonly #documentLengths = new GrowableInt32();

  private constructor(spill: TokenSpill) {
    this.#spill = spill;
  }

  static async create(folder: string): Promise<GenerationCollector> {
    return new GenerationCollector(await TokenSpill.create(folder));
  }

  get documents(): number {
    return this.#documentLengths.length;
  }

  async add(output: TokenizeOutput): Promise<void> {
    await this.#spill.append(output.ids);
    this.#documentLengths.append(output.lengths);
  }

  /** Drops the spill file, for a build that ends without writing. Idempotent. */
  discard(): Promise<void> {
    return this.#spill.remove();
  }

  async write(
    folder: string,
    columns: number,
    seed: number,
    valFraction: number,
  ): Promise<BuiltSplits> {
    await this.#spill.seal();
    try {
      const lengths = this.#documentLengths.view();
      const starts = new Float64Array(lengths.length);
      for (let doc = 1; doc < lengths.length; doc += 1) {
        starts[doc] = (starts[doc - 1] as number) + (lengths[doc - 1] as number);
      }
      const split = splitRows(new Int32Array(lengths.length), seed, valFraction);
      const train = await this.#pack(folder, 'train', split.train, starts, columns);
      const validation = await this.#pack(folder, 'validation', split.validation, starts, columns);
      const tokens = (train.rows + validation.rows) * columns;
      return { labels: [], train, validation, tokens };
    } finally {
      await this.#spill.remove();
    }
  }

  async #pack(
    folder: string,
    name: string,
    order: Int32Array,
    starts: Float64Array,
    columns: number,
  ): Promise<ShardSplit> {
    const lengths = this.#documentLengths.view();
    let available = 0;
    for (const doc of order) available += lengths[doc] as number;
    const rows = Math.floor(available / columns);
    const total = rows * columns;
    const writer = await ShardArrayWriter.create(folder, `${name}.tokens.i32`);
    const chunk = new Int32Array(CHUNK_IDS);
    let filled = 0;
    for (const doc of order) {
      if (filled === total) break;
      const take = Math.min(lengths[doc] as number, total - filled);
      for (let done = 0; done < take; done += CHUNK_IDS) {
        const part = chunk.subarray(0, Math.min(CHUNK_IDS, take - done));
        this.#spill.read((starts[doc] as number) + done, part);
        await writer.append(part);
      }
      filled += take;
    }
    return { rows, tokens: await writer.close([rows, columns]) };
  }
}
