import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { createHfTokenizer, installPreTokenizer } from './hf-tokenizer.js';
import { invalid, type TokenizerFiles } from './loaded-tokenizer.js';
import type { NativeTokenizer } from './native-tokenizer.js';
import { PieceCacheEncoder } from './piece-cache-encoder.js';
import { piecewiseEncoding } from './piecewise-encoding.js';
import { readTokenizerJson } from './tokenizer-json.js';
import { createWordSplitter } from './word-splitter.js';

/**
 * Which implementation encodes. `native` (npm `tokenizers`, Rust) is the default: on this
 * project's corpora it gives the same ids as `js` (npm `@huggingface/tokenizers`) at 2 to 3 times
 * the speed; see docs/tokenizers.md. `js` remains for hosts without a prebuilt native binary.
 */
export type TokenizerBackend = 'native' | 'js';

export const TOKENIZER_BACKENDS: readonly TokenizerBackend[] = ['native', 'js'];

/** Encodes texts to ids, without special tokens. */
export interface TokenEncoder {
  readonly backend: TokenizerBackend;
  encode(text: string): Promise<number[]>;
  /** The ids `encode` gives for each text, in one call where the library allows it. */
  encodeBatch(texts: string[]): Promise<number[][]>;
}

export interface OpenEncoderOptions {
  /**
   * Remember each word's ids and encode only words not seen before, where the tokenizer allows
   * it (`piecewiseEncoding`); the ids are the same. Native backend only. Default true; the bench
   * turns it off to time the library alone.
   */
  pieceCache?: boolean;
}

/**
 * Builds an encoder from a tokenizer's files, refusing them when their bytes no longer hash to
 * `expectedSha256` (the file changed after the main thread keyed the cache on it).
 */
export async function openEncoder(
  ref: string,
  backend: TokenizerBackend,
  files: TokenizerFiles,
  expectedSha256: string,
  options: OpenEncoderOptions = {},
): Promise<TokenEncoder> {
  const bytes = await readFile(files.tokenizerPath).catch((error: unknown) => {
    throw invalid(ref, `cannot read ${files.tokenizerPath}: ${(error as Error).message}`, error);
  });
  if (createHash('sha256').update(bytes).digest('hex') !== expectedSha256) {
    throw new AutomatError(
      ErrorCodes.TOKENIZER_INVALID,
      `tokenizer_ref "${ref}": ${files.tokenizerPath} changed on disk during ingest`,
    );
  }
  try {
    if (backend === 'js') return await openJsEncoder(bytes, files);
    // Imported on demand: on a platform without a prebuilt binary the package fails to load,
    // and the js backend must still work there.
    const { createNativeTokenizer } = await import('./native-tokenizer.js').catch(
      (error: unknown) => {
        const reason =
          `the native tokenizer library does not load here (${String(error)}); ` +
          'use the js backend';
        throw invalid(ref, reason, error);
      },
    );
    const json = withoutSpecialTokens(JSON.parse(bytes.toString('utf8')) as TokenizerJson);
    return openNativeEncoder(json, options.pieceCache ?? true, createNativeTokenizer);
  } catch (error) {
    if (error instanceof AutomatError) throw error;
    const path = files.tokenizerPath;
    const reason = `${path} is not a usable tokenizer.json (${backend}): ${String(error)}`;
    throw invalid(ref, reason, error);
  }
}

type TokenizerJson = Record<string, unknown>;

/**
 * The tokenizer.json as ingest uses it: its special tokens (`<s>`, `</s>`, `<unk>`) no longer
 * match in the text. Data is text: an HTML e-mail's `<s>` tag or a document quoting `</s>` must
 * not become a control id, such as the end-of-sequence id that separates documents in
 * generation shards. Pad and end-of-sequence ids still come from the file as it is
 * (`loadTokenizer`), so rows are padded and documents ended as before. Added tokens that are
 * not special (extra words) still match.
 */
function withoutSpecialTokens(json: TokenizerJson): TokenizerJson {
  if (!Array.isArray(json.added_tokens)) return json;
  const added = json.added_tokens as Array<{ special?: unknown }>;
  return { ...json, added_tokens: added.filter((token) => token.special !== true) };
}

function openNativeEncoder(
  json: TokenizerJson,
  pieceCache: boolean,
  create: (tokenizerJson: string) => NativeTokenizer,
): TokenEncoder {
  const text = JSON.stringify(json);
  const plan = pieceCache ? piecewiseEncoding(json, readTokenizerJson(json)) : null;
  if (plan === null) return { backend: 'native', ...create(text) };
  const pieces = create(plan.piecesJson);
  // Built on first use: only a text holding an added token's text needs it, and a build takes
  // about as long as encoding a megabyte.
  let whole: NativeTokenizer | undefined;
  const encodeWhole = (texts: string[]) => (whole ??= create(text)).encodeBatch(texts);
  return new PieceCacheEncoder('native', encodeWhole, pieces.encodeBatch, plan);
}

/**
 * The pure-JS tokenizer, sped up by running BPE word by word where the vocabulary allows it
 * (see word-splitter.ts); without that it is about ten times slower than the native one.
 */
async function openJsEncoder(bytes: Buffer, files: TokenizerFiles): Promise<TokenEncoder> {
  const json = withoutSpecialTokens(JSON.parse(bytes.toString('utf8')) as TokenizerJson);
  const config =
    files.configPath === null
      ? {}
      : (JSON.parse(await readFile(files.configPath, 'utf8')) as object);
  const tokenizer = createHfTokenizer(json, config);
  const facts = readTokenizerJson(json);
  const splitter = createWordSplitter(facts);
  if (splitter !== null) installPreTokenizer(tokenizer, splitter);
  const encode = (text: string): number[] =>
    tokenizer.encode(text, { add_special_tokens: false }).ids;
  return {
    backend: 'js',
    encode: (text) => Promise.resolve(encode(text)),
    encodeBatch: (texts) => Promise.resolve(texts.map(encode)),
  };
}
