import { Tokenizer } from 'tokenizers';
import { keepTokenizerLibrarySerial } from './tokenizer-parallelism.js';

/**
 * The official Hugging Face tokenizers in Rust, through their napi binding (npm `tokenizers`).
 * Both calls run on the libuv thread pool, so they never block the calling thread; each ingest
 * thread keeps one call in flight, so N ingest threads keep N cores busy.
 *
 * The binding's own declaration files do not pass the compiler's library check; the project sets
 * `skipLibCheck`, and this facade is the only module that imports the package.
 */
export interface NativeTokenizer {
  /** Ids of `text` without special tokens. */
  encode(text: string): Promise<number[]>;
  /**
   * Ids of each text, without special tokens: the same ids as `encode` on each, in one call to
   * the library, so a batch costs one trip to the thread pool instead of one per text.
   */
  encodeBatch(texts: string[]): Promise<number[][]>;
}

const OPTIONS = { addSpecialTokens: false };

/**
 * Builds a tokenizer from the text of a tokenizer.json; throws the binding's error as is.
 * Padding and truncation that the file may configure are turned off: ingest pads and truncates
 * itself, and a padded batch would no longer give each text's own ids.
 */
export function createNativeTokenizer(tokenizerJson: string): NativeTokenizer {
  keepTokenizerLibrarySerial();
  const tokenizer = Tokenizer.fromString(tokenizerJson);
  tokenizer.disablePadding();
  tokenizer.disableTruncation();
  return {
    encode: async (text) => (await tokenizer.encode(text, null, OPTIONS)).getIds(),
    encodeBatch: async (texts) => {
      if (texts.length === 0) return [];
      const encodings = await tokenizer.encodeBatch(texts, OPTIONS);
      return encodings.map((encoding) => encoding.getIds());
    },
  };
}
