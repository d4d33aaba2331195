import * as tokenizers from '@huggingface/tokenizers';

/**
 * The slice of `@huggingface/tokenizers` that ingest uses, typed by hand.
 *
 * The package's declaration files import their siblings without file extensions, which
 * `moduleResolution: NodeNext` refuses, so every export reaches us as `any`. This facade keeps that
 * `any` in one place instead of letting it leak into the pipeline.
 */
export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
  /** Token text → id, including added (special) tokens when `withAddedTokens` is true. */
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  /** Splits normalized text into the pieces BPE runs on; null means the whole text is one piece. */
  pre_tokenizer: ((text: string) => string[]) | object | null;
}

type HfTokenizerConstructor = new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;

const TokenizerClass = (tokenizers as { Tokenizer: HfTokenizerConstructor }).Tokenizer;

/** Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json objects. */
export function createHfTokenizer(tokenizerJson: object, tokenizerConfig: object): HfTokenizer {
  return new TokenizerClass(tokenizerJson, tokenizerConfig);
}

/** Texts on which a split tokenizer must agree with the unsplit one before the split is kept. */
const PROBES = [
  'Hello world, this is a test.',
  '  leading and  double   spaces\tand\ttabs\r\nand CRLF;\r\nlines\n\n',
  'Subject: WIN $5,000!!! Click http://example.biz/x?id=42&a=b <s> now 2002-08-22',
  'café résumé naïve 😀 日本語のテキスト Ünïcödé — “quotes” … ½',
  'x = foo();\r\n  return [a, b];\r\n}\r\n\t\t====----',
];

/**
 * Installs `split` as the pre-tokenizer of a tokenizer that has none, so BPE runs word by word.
 *
 * Without one, llama2 runs its merges over each text as a single piece: about 13 µs per
 * character and no reuse. Word pieces are short and repeat, so the model's own per-word cache
 * applies. The split is kept only if the probe texts encode identically with and without it;
 * returns whether it was kept.
 */
export function installPreTokenizer(
  tokenizer: HfTokenizer,
  split: (text: string) => string[],
): boolean {
  if (tokenizer.pre_tokenizer !== null) return false;
  const expected = PROBES.map((text) => tokenizer.encode(text, { add_special_tokens: false }).ids);
  tokenizer.pre_tokenizer = split;
  const same = PROBES.every((text, i) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    return ids.length === expected[i]?.length && ids.every((id, j) => id === expected[i]?.[j]);
  });
  if (!same) tokenizer.pre_tokenizer = null;
  return same;
}
