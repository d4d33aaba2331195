import type { TokenEncoder } from './token-encoder.js';

/** First guess at how many characters hold `maxTokens` tokens; emails average 2 to 4. */
const CHARS_PER_TOKEN_GUESS = 4;

/** The leading ids of one text. */
export interface EncodedHead {
  /** At most `maxTokens` ids. */
  ids: number[];
  /** True when the text has more than `maxTokens` tokens. */
  truncated: boolean;
}

/**
 * End of the first word that ends at or after `from` and is followed by a space: the index of
 * that space. Only spaces qualify: llama2 has tokens such as `;\r` that run into other whitespace.
 */
function wordEndFrom(text: string, from: number): number {
  const pattern = /\S /g;
  pattern.lastIndex = Math.max(0, from - 1);
  const match = pattern.exec(text);
  return match === null ? text.length : match.index + 1;
}

/**
 * Ids of at most `maxTokens` leading tokens of each text, without special tokens.
 *
 * Encoding cost grows faster than linearly with length and emails run to 300 kB, so for a
 * word-bounded tokenizer only a leading window is encoded, cut just before a space and doubled
 * until it yields enough tokens. Because such tokens never cross that cut, the ids equal the first
 * ids of the whole text.
 *
 * The texts go through the windows together: each round encodes, in one batch, the current window
 * of every text still short of `maxTokens` ids, so a batch of texts costs one library call per
 * round rather than one per text and window. Each text sees the same windows as it would alone.
 */
export async function encodeHeads(
  encoder: TokenEncoder,
  wordBounded: boolean,
  texts: readonly string[],
  maxTokens: number,
): Promise<EncodedHead[]> {
  const heads: EncodedHead[] = new Array<EncodedHead>(texts.length);
  let pending = texts.map((_, index) => index);
  for (let window = maxTokens * CHARS_PER_TOKEN_GUESS; pending.length > 0; window *= 2) {
    const round = pending.map((index) => cutWindow(texts[index] as string, wordBounded, window));
    const encoded = await encoder.encodeBatch(round.map((cut) => cut.text));
    const shortOfTokens: number[] = [];
    pending.forEach((index, i) => {
      const ids = encoded[i] as number[];
      if ((round[i] as WindowCut).whole) {
        const truncated = ids.length > maxTokens;
        heads[index] = { ids: truncated ? ids.slice(0, maxTokens) : ids, truncated };
      } else if (ids.length >= maxTokens) {
        heads[index] = { ids: ids.slice(0, maxTokens), truncated: true };
      } else {
        shortOfTokens.push(index);
      }
    });
    pending = shortOfTokens;
  }
  return heads;
}

/** Ids of at most `maxTokens` leading tokens of `text`: `encodeHeads` for one text. */
export async function encodeHead(
  encoder: TokenEncoder,
  wordBounded: boolean,
  text: string,
  maxTokens: number,
): Promise<EncodedHead> {
  return (await encodeHeads(encoder, wordBounded, [text], maxTokens))[0] as EncodedHead;
}

interface WindowCut {
  text: string;
  /** The whole text: encoding it gives the final ids whatever their number. */
  whole: boolean;
}

function cutWindow(text: string, wordBounded: boolean, window: number): WindowCut {
  if (!wordBounded || window >= text.length) return { text, whole: true };
  const cut = wordEndFrom(text, window);
  return cut >= text.length ? { text, whole: true } : { text: text.slice(0, cut), whole: false };
}
