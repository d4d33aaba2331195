import type { TokenizerJsonFacts } from './tokenizer-json.js';
import { createWordSplitter, type WordSplitter } from './word-splitter.js';

/**
 * How a tokenizer's ids for a text can be put together from its ids for the pieces of that text:
 * the raw text is cut where no token can span once it is normalized (word-splitter.ts), each
 * piece is normalized as the tokenizer would, and encoded by the same model with no normalizer.
 * Repeated pieces (words) then need encoding once, which is what `PieceCacheEncoder` does.
 */
export interface PiecewiseEncoding {
  /** Cuts a raw text, before normalizing, into pieces. */
  split: WordSplitter;
  /** What the normalizer puts before a non-empty text: llama2's `▁`, or nothing. */
  prefix: string;
  /** The normalizer's work on one piece (llama2: spaces to `▁`), the prefix aside. */
  normalize(piece: string): string;
  /**
   * Added tokens' texts. The library finds them in the raw text before normalizing, so a text
   * holding one is encoded whole instead.
   */
  addedTexts: readonly string[];
  /** The tokenizer.json without its normalizer: encodes pieces already normalized. */
  piecesJson: string;
}

const SENTENCEPIECE_SPACE = '\u2581';

/**
 * Returns the plan for a tokenizer.json, or null when its ids might not be the sum of its
 * pieces' ids. Only shapes known to be safe qualify: a BPE model without dropout, word prefix
 * or suffix, `ignore_merges` or a pre-tokenizer, whose unknown characters fall back to bytes
 * (unknown tokens could otherwise be fused across a cut), and whose normalizer is none or
 * llama's (prepend `▁`, spaces to `▁`).
 */
export function piecewiseEncoding(
  json: Record<string, unknown>,
  facts: TokenizerJsonFacts,
): PiecewiseEncoding | null {
  const model = json.model as Record<string, unknown>;
  if (facts.modelType !== 'BPE' || json.pre_tokenizer != null) return null;
  if (model.dropout != null && model.dropout !== 0) return null;
  // Without a pre-tokenizer the whole text is one word to BPE: a piece would wrongly start or
  // end a word where these apply, and `ignore_merges` looks whole words up in the vocabulary.
  if (model.continuing_subword_prefix || model.end_of_word_suffix || model.ignore_merges) {
    return null;
  }
  if (model.fuse_unk === true && !(model.byte_fallback === true && hasAllBytes(facts))) {
    return null;
  }
  const normalizer = readNormalizer(json.normalizer);
  if (normalizer === null) return null;
  const { prefix, spaceAs } = normalizer;
  const options = spaceAs === null ? {} : { spaceAs };
  const split = createWordSplitter(facts, options);
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as unknown[]) : [];
  const addedTexts = added
    .map((token) => (token as { content?: unknown }).content)
    .filter((content): content is string => typeof content === 'string' && content !== '');
  // Such an added text could appear only once spaces are replaced; not worth the second look.
  if (split === null || (spaceAs !== null && addedTexts.some((text) => text.includes(spaceAs)))) {
    return null;
  }
  return {
    split,
    prefix,
    normalize: spaceAs === null ? (piece) => piece : (piece) => piece.replaceAll(' ', spaceAs),
    addedTexts,
    piecesJson: JSON.stringify({ ...json, normalizer: null }),
  };
}

function hasAllBytes(facts: TokenizerJsonFacts): boolean {
  for (let byte = 0; byte < 256; byte += 1) {
    const token = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
    if (!facts.vocab.has(token)) return false;
  }
  return true;
}

interface Normalizer {
  prefix: string;
  spaceAs: string | null;
}

/** `null` → nothing to do; llama's Sequence [Prepend ▁, Replace " " → ▁] → both; else null. */
function readNormalizer(normalizer: unknown): Normalizer | null {
  if (normalizer === null || normalizer === undefined) return { prefix: '', spaceAs: null };
  const { type, normalizers } = normalizer as { type?: unknown; normalizers?: unknown };
  if (type !== 'Sequence' || !Array.isArray(normalizers) || normalizers.length !== 2) return null;
  const [prepend, replace] = normalizers as Array<Record<string, unknown>>;
  const isLlama =
    prepend?.type === 'Prepend' &&
    prepend.prepend === SENTENCEPIECE_SPACE &&
    replace?.type === 'Replace' &&
    (replace.pattern as { String?: unknown } | undefined)?.String === ' ' &&
    replace.content === SENTENCEPIECE_SPACE;
  return isLlama ? { prefix: SENTENCEPIECE_SPACE, spaceAs: SENTENCEPIECE_SPACE } : null;
}
