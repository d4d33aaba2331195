import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHead, encodeHeads } from '../src/ingest/encode-text.js';
import type { LoadedTokenizer } from '../src/ingest/loaded-tokenizer.js';
import { openEncoder, type TokenEncoder } from '../src/ingest/token-encoder.js';
import { batchesOf } from '../src/ingest/tokenize-source.js';
import { keepTokenizerLibrarySerial } from '../src/ingest/tokenizer-parallelism.js';
import { loadTokenizer } from '../src/ingest/tokenizer-registry.js';

const SENTENCE = 'Limited offer:  designer\twatches at 90% off!\r\nReply;\r  now, café résumé 😀. ';

/** Short and long texts, some needing one window, some several, some none. */
const TEXTS = [
  'hi',
  SENTENCE,
  SENTENCE.repeat(3),
  SENTENCE.repeat(60),
  'a'.repeat(5000),
  `${'word '.repeat(300)}end`,
  '',
  'x y',
];

let llama2: LoadedTokenizer;
let native: TokenEncoder;
let js: TokenEncoder;

beforeAll(async () => {
  llama2 = await loadTokenizer('llama2');
  native = await openEncoder('llama2', 'native', llama2.files, llama2.sha256);
  js = await openEncoder('llama2', 'js', llama2.files, llama2.sha256);
});

describe('batch encoding', () => {
  it('gives the ids of one encode per text, natively and in pure JS', async () => {
    const one = await Promise.all(TEXTS.map((text) => native.encode(text)));

    expect(await native.encodeBatch(TEXTS)).toEqual(one);
    expect(await js.encodeBatch(TEXTS)).toEqual(one);
    expect(await native.encodeBatch([])).toEqual([]);
  });

  it('turns the library parallelism off, so one thread uses one core, unless it was set', () => {
    const before = process.env['TOKENIZERS_PARALLELISM'];
    try {
      delete process.env['TOKENIZERS_PARALLELISM'];
      keepTokenizerLibrarySerial();
      expect(process.env['TOKENIZERS_PARALLELISM']).toBe('false');
      process.env['TOKENIZERS_PARALLELISM'] = 'true';
      keepTokenizerLibrarySerial();
      expect(process.env['TOKENIZERS_PARALLELISM']).toBe('true');
    } finally {
      if (before === undefined) delete process.env['TOKENIZERS_PARALLELISM'];
      else process.env['TOKENIZERS_PARALLELISM'] = before;
    }
  });

  it('encodes heads of a batch as each text alone, for every seq_len', async () => {
    const whole = await Promise.all(TEXTS.map((text) => native.encode(text)));

    for (const maxTokens of [1, 4, 31, 64, 256]) {
      const heads = await encodeHeads(native, llama2.wordBounded, TEXTS, maxTokens);

      heads.forEach((head, i) => {
        const ids = whole[i] as number[];
        expect(head.ids).toEqual(ids.slice(0, maxTokens));
        expect(head.truncated).toBe(ids.length > maxTokens);
      });
      for (const [i, text] of TEXTS.entries()) {
        expect(await encodeHead(native, llama2.wordBounded, text, maxTokens)).toEqual(heads[i]);
      }
    }
  });
});

describe('batchesOf', () => {
  it('cuts at 64 texts or once a batch reaches 256 000 characters', () => {
    const small = Array.from({ length: 130 }, (_, i) => `text ${i}`);
    const big = ['a'.repeat(200_000), 'b'.repeat(60_000), 'c', 'd'.repeat(300_000), 'e'];

    expect([...batchesOf(small)].map((b) => b.length)).toEqual([64, 64, 2]);
    expect([...batchesOf(big)].map((b) => b.length)).toEqual([2, 2, 1]);
  });
});
