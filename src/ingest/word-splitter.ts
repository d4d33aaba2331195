import type { TokenizerJsonFacts } from './tokenizer-json.js';

/** Splits normalized text into pieces that BPE can encode one at a time with the same result. */
export type WordSplitter = (text: string) => string[];

// A space as tokenizers spell it: itself, sentencepiece's ▁ or byte-level BPE's Ġ.
const SPACE_MARKERS = new Set([' ', '\u2581', '\u0120']);

export interface SplitterOptions {
  /**
   * The character the tokenizer's normalizer turns spaces into (llama2: `▁`), so that text can
   * be split before it is normalized: a space is then cut like that character.
   */
  spaceAs?: string;
}

/** Per UTF-16 code unit: a space marker, and/or a unit that no multi-character token holds. */
const MARKER = 1;
const ISOLATED = 2;

/**
 * Builds a splitter from a tokenizer's vocabulary and BPE merges, or returns null when the
 * vocabulary does not allow one.
 *
 * A piece may end wherever no token can span the cut: (1) before a space marker that follows
 * another character, provided no token holds a marker after another character (llama2's
 * `▁Hello▁world` → `▁Hello`, `▁world`); (2) on both sides of a character that occurs in no
 * multi-character token (llama2: newlines, tabs and digits, which it always encodes alone).
 */
export function createWordSplitter(
  facts: TokenizerJsonFacts,
  options: SplitterOptions = {},
): WordSplitter | null {
  const joinable = new Set<number>();
  const note = (token: string): boolean => {
    // With byte fallback, `<0x41>` is a byte, not the six characters it is spelled with.
    if (token.length < 2 || (facts.byteFallback && /^<0x[0-9A-F]{2}>$/.test(token))) return true;
    for (let i = 0; i < token.length; i += 1) {
      const unit = token[i] as string;
      if (i > 0 && SPACE_MARKERS.has(unit) && !SPACE_MARKERS.has(token[i - 1] as string)) {
        return false;
      }
      joinable.add(token.charCodeAt(i));
    }
    return true;
  };
  for (const token of facts.vocab.keys()) if (!note(token)) return null;
  for (const [a, b] of facts.merges) if (!note(a + b)) return null;
  const classes = classTable(joinable);
  if (options.spaceAs !== undefined)
    classes[0x20] = classes[options.spaceAs.charCodeAt(0)] as number;
  return (text) => split(text, classes);
}

/**
 * One byte per code unit, so that splitting reads a table instead of two sets per character.
 * Surrogate halves are never cut apart, so they always count as joinable.
 */
function classTable(joinable: ReadonlySet<number>): Uint8Array {
  const classes = new Uint8Array(0x10000);
  for (let code = 0; code < classes.length; code += 1) {
    const surrogate = code >= 0xd800 && code <= 0xdfff;
    if (!surrogate && !joinable.has(code)) classes[code] = ISOLATED;
  }
  for (const marker of SPACE_MARKERS) {
    const code = marker.charCodeAt(0);
    classes[code] = (classes[code] as number) | MARKER;
  }
  return classes;
}

function split(text: string, classes: Uint8Array): string[] {
  const pieces: string[] = [];
  let start = 0;
  let previous = classes[text.charCodeAt(0)] as number;
  for (let i = 1; i < text.length; i += 1) {
    const unit = classes[text.charCodeAt(i)] as number;
    const newWord = (unit & MARKER) !== 0 && (previous & MARKER) === 0;
    if (newWord || ((unit | previous) & ISOLATED) !== 0) {
      pieces.push(text.slice(start, i));
      start = i;
    }
    previous = unit;
  }
  pieces.push(text.slice(start));
  return pieces;
}
