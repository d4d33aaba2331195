import { Tokenizer } from 'tokenizers';

/**
 * The official Hugging Face tokenizers in Rust, through their napi binding (npm `tokenizers`).
 * `encode` runs on the libuv thread pool, so one call never blocks the calling thread; each ingest
 * thread keeps one call in flight, so N ingest threads keep N cores busy.
 *
 * The binding's own declaration files do not pass the compiler's library check; the project sets
 * `skipLibCheck`, and this facade is the only module that imports the package.
 */
export interface NativeTokenizer {
  /** Ids of `text` without special tokens. */
  encode(text: string): Promise<number[]>;
}

/** Builds a tokenizer from the text of a tokenizer.json; throws the binding's error as is. */
export function createNativeTokenizer(tokenizerJson: string): NativeTokenizer {
  const tokenizer = Tokenizer.fromString(tokenizerJson);
  return {
    encode: async (text) =>
      (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds(),
  };
}
