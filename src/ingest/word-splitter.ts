/** Splits normalized text into pieces that BPE can encode one at a time with the same result. */
export type WordSplitter = (text: string) => string[];

// A space as tokenizers spell it: itself, sentencepiece's ▁ or byte-level BPE's Ġ.
const SPACE_MARKERS = new Set([' ', '\u2581', '\u0120']);

/**
 * Builds a splitter from a vocabulary and its BPE merges, or returns null when the vocabulary
 * does not allow one.
 *
 * A piece may end wherever no token can span the cut: (1) before a space marker that follows
 * another character, provided no token holds a marker after another character (llama2's
 * `▁Hello▁world` → `▁Hello`, `▁world`); (2) on both sides of a character that occurs in no
 * multi-character token (llama2: newlines, tabs and digits, which it always encodes alone).
 */
export function createWordSplitter(
  tokens: Iterable<string>,
  merges: readonly (readonly [string, string])[],
): WordSplitter | null {
  const joinable = new Set<string>();
  const note = (token: string): boolean => {
    if (token.length < 2 || /^<0x[0-9A-F]{2}>$/.test(token)) return true;
    for (let i = 0; i < token.length; i += 1) {
      const unit = token[i] as string;
      if (i > 0 && SPACE_MARKERS.has(unit) && !SPACE_MARKERS.has(token[i - 1] as string)) {
        return false;
      }
      joinable.add(unit);
    }
    return true;
  };
  for (const token of tokens) if (!note(token)) return null;
  for (const [a, b] of merges) if (!note(a + b)) return null;
  return (text) => split(text, joinable);
}

function split(text: string, joinable: Set<string>): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i < text.length; i += 1) {
    const unit = text[i] as string;
    const previous = text[i - 1] as string;
    const newWord = SPACE_MARKERS.has(unit) && !SPACE_MARKERS.has(previous);
    if (newWord || isolated(unit, joinable) || isolated(previous, joinable)) {
      pieces.push(text.slice(start, i));
      start = i;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Surrogate halves are never cut apart, so they always count as joinable. */
function isolated(unit: string, joinable: Set<string>): boolean {
  const code = unit.charCodeAt(0);
  return !(code >= 0xd800 && code <= 0xdfff) && !joinable.has(unit);
}
