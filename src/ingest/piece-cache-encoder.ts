import type { PiecewiseEncoding } from './piecewise-encoding.js';
import type { TokenEncoder } from './token-encoder.js';

/** Encodes texts to ids, one library call per batch. */
type BatchEncode = (texts: string[]) => Promise<number[][]>;

export interface PieceCacheOptions {
  /** Pieces kept before the cache starts over. Default 262 144 (tens of MiB per thread). */
  maxEntries?: number;
  /** Longer pieces are encoded every time: they are rarely repeated. Default 64 characters. */
  maxPieceLength?: number;
}

/**
 * A TokenEncoder that remembers the ids of each piece (about a word) it has encoded and sends
 * the library only pieces it has not seen, one batch call per batch of texts. Natural text
 * repeats its words: on SOTU the library then encodes a few percent of the characters it would
 * otherwise, and ingest runs faster than the library alone (docs/tokenizers.md).
 *
 * The ids are the library's own: the same as `whole` gives for each text, because no token spans
 * a cut between pieces (`PiecewiseEncoding`). Texts holding an added token's text go to `whole`.
 * Each ingest thread has its own encoder, so the cache needs no locking.
 */
export class PieceCacheEncoder implements TokenEncoder {
  readonly #cache = new Map<string, number[]>();
  readonly #maxEntries: number;
  readonly #maxPieceLength: number;

  constructor(
    readonly backend: TokenEncoder['backend'],
    private readonly whole: BatchEncode,
    private readonly pieces: BatchEncode,
    private readonly plan: PiecewiseEncoding,
    options: PieceCacheOptions = {},
  ) {
    this.#maxEntries = options.maxEntries ?? 262_144;
    this.#maxPieceLength = options.maxPieceLength ?? 64;
  }

  /** Pieces currently remembered. */
  get size(): number {
    return this.#cache.size;
  }

  async encode(text: string): Promise<number[]> {
    return (await this.encodeBatch([text]))[0] as number[];
  }

  async encodeBatch(texts: string[]): Promise<number[][]> {
    // Each piece the cache lacks, with the [row, piece] places its ids go.
    const misses = new Map<string, number[]>();
    const rows = texts.map((text, row) => this.#lookUp(text, row, misses));
    // One library call at a time: an ingest thread keeps one core busy, not two.
    await this.#encodeMisses(misses, rows);
    const wholeRows = rows.flatMap((pieces, row) => (pieces === null ? [row] : []));
    const wholeIds =
      wholeRows.length > 0 ? await this.whole(wholeRows.map((row) => texts[row] as string)) : [];
    const out = rows.map((pieces) => (pieces === null ? [] : concat(pieces)));
    wholeRows.forEach((row, i) => (out[row] = wholeIds[i] as number[]));
    return out;
  }

  /** Encodes the missing pieces in one library call, puts their ids in place, remembers them. */
  async #encodeMisses(
    misses: Map<string, number[]>,
    rows: Array<number[][] | null>,
  ): Promise<void> {
    if (misses.size === 0) return;
    // Two keys can be one piece once normalized (` the` and a text's first `▁the`).
    const normalized = new Map<string, string>();
    for (const key of misses.keys()) normalized.set(key, this.plan.normalize(key));
    const distinct = [...new Set(normalized.values())];
    const distinctIds = await this.pieces(distinct);
    const idsOf = new Map(distinct.map((piece, i) => [piece, distinctIds[i] as number[]]));
    misses.forEach((places, key) => {
      const ids = idsOf.get(normalized.get(key) as string) as number[];
      for (let p = 0; p < places.length; p += 2) {
        (rows[places[p] as number] as number[][])[places[p + 1] as number] = ids;
      }
      this.#remember(key, ids);
    });
  }

  /**
   * The ids of a text's pieces as far as the cache knows them, noting the others in `misses`;
   * null when the text must be encoded whole. A piece's key is its raw text, but the first
   * piece's is its normalized text with the prefix, since only the first piece gets one.
   */
  #lookUp(text: string, row: number, misses: Map<string, number[]>): number[][] | null {
    if (text === '') return [];
    for (const added of this.plan.addedTexts) if (text.includes(added)) return null;
    const keys = this.plan.split(text);
    keys[0] = this.plan.prefix + this.plan.normalize(keys[0] as string);
    const pieces = new Array<number[]>(keys.length);
    keys.forEach((key, index) => {
      const known = this.#cache.get(key);
      if (known !== undefined) {
        pieces[index] = known;
        return;
      }
      const places = misses.get(key);
      if (places === undefined) misses.set(key, [row, index]);
      else places.push(row, index);
    });
    return pieces;
  }

  /** Keeps a piece's ids; a full cache starts over rather than track recency. */
  #remember(key: string, ids: number[]): void {
    if (key.length > this.#maxPieceLength) return;
    if (this.#cache.size >= this.#maxEntries) this.#cache.clear();
    this.#cache.set(key, ids);
  }
}

function concat(pieces: readonly number[][]): number[] {
  const ids: number[] = [];
  for (const piece of pieces)
    for (let i = 0; i < piece.length; i += 1) ids.push(piece[i] as number);
  return ids;
}
