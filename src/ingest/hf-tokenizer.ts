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
}

type HfTokenizerConstructor = new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;

const TokenizerClass = (tokenizers as { Tokenizer: HfTokenizerConstructor }).Tokenizer;

/** Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json objects. */
export function createHfTokenizer(tokenizerJson: object, tokenizerConfig: object): HfTokenizer {
  return new TokenizerClass(tokenizerJson, tokenizerConfig);
}
