import type { TokenEncoder } from './token-encoder.js';

/** First guess at how many characters hold `maxTokens` tokens; emails average 2 to 4. */
const CHARS_PER_TOKEN_GUESS = 4;

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
 * Ids of at most `maxTokens` leading tokens of `text`, without special tokens.
 *
 * Encoding cost grows faster than linearly with length and emails run to 300 kB, so for a
 * word-bounded tokenizer only a leading window is encoded, cut just before a space and doubled
 * until it yields enough tokens. Because such tokens never cross that cut, the ids equal the first
 * ids of the whole text.
 */
export async function encodeHead(
  encoder: TokenEncoder,
  wordBounded: boolean,
  text: string,
  maxTokens: number,
): Promise<{ ids: number[]; truncated: boolean }> {
  if (wordBounded) {
    for (let window = maxTokens * CHARS_PER_TOKEN_GUESS; window < text.length; window *= 2) {
      const cut = wordEndFrom(text, window);
      if (cut >= text.length) break;
      const ids = await encoder.encode(text.slice(0, cut));
      if (ids.length >= maxTokens) return { ids: ids.slice(0, maxTokens), truncated: true };
    }
  }
  const ids = await encoder.encode(text);
  const truncated = ids.length > maxTokens;
  return { ids: truncated ? ids.slice(0, maxTokens) : ids, truncated };
}
