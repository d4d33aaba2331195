import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { encodeHead } from '../src/ingest/encode-text.js';
import { createHfTokenizer } from '../src/ingest/hf-tokenizer.js';
import type { LoadedTokenizer } from '../src/ingest/loaded-tokenizer.js';
import { openEncoder, type TokenEncoder } from '../src/ingest/token-encoder.js';
import { loadTokenizer, resolveTokenizerRef } from '../src/ingest/tokenizer-registry.js';

const fixtureText = (name: string): string =>
  readFileSync(new URL(`./fixtures/ingest/${name}`, import.meta.url), 'utf8');

/** Texts that exercise whitespace runs, CRLF, digits, emoji, special-token text and e-mail. */
const TEXTS = [
  fixtureText('multipart.eml'),
  fixtureText('html-only.eml'),
  fixtureText('classification.jsonl'),
  fixtureText('reviews.csv'),
  'tabs\t\there, 1234567 digits,\r\n\r\n  spaces   — “quoted” 😀 <s> </s>',
  'café résumé naïve 日本語のテキスト Ünïcödé … ½',
];

let llama2: LoadedTokenizer;
let native: TokenEncoder;
let js: TokenEncoder;
let dir: string;

beforeAll(async () => {
  llama2 = await loadTokenizer('llama2');
  native = await openEncoder('llama2', 'native', llama2.files, llama2.sha256);
  js = await openEncoder('llama2', 'js', llama2.files, llama2.sha256);
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-ingest-tokenizer-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadTokenizer', () => {
  it('loads the llama2 registry entry with its hash, vocabulary and special ids', async () => {
    const bytes = await readFile(llama2.files.tokenizerPath);

    expect(llama2.files.tokenizerPath).toMatch(/tokenizer-llama2[\\/]models[\\/]tokenizer\.json$/);
    expect(llama2.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(llama2).toMatchObject({ vocabSize: 32000, padId: 0, eosId: 2, wordBounded: true });
    // Ingest adds no <s>: the first id is a word, not the BOS id 1.
    expect((await native.encode('Hello world'))[0]).not.toBe(1);
  });

  it('loads a tokenizer.json by path and by the folder holding it', async () => {
    const folder = join(dir, 'my-tokenizer');
    await mkdir(folder);
    await copyFile(resolveTokenizerRef('llama2').tokenizerPath, join(folder, 'tokenizer.json'));

    const byFile = await loadTokenizer(join(folder, 'tokenizer.json'));
    const byFolder = await loadTokenizer(folder);

    expect(byFile.files.configPath).toBeNull();
    expect(byFolder.sha256).toBe(llama2.sha256);
  });

  it('refuses a tokenizer_config.json naming a special token the vocabulary lacks', async () => {
    const folder = join(dir, 'mismatched');
    await mkdir(folder);
    await copyFile(resolveTokenizerRef('llama2').tokenizerPath, join(folder, 'tokenizer.json'));
    await writeFile(join(folder, 'tokenizer_config.json'), '{"pad_token": "<|pad|>"}');

    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining(
        `tokenizer_config.json: pad_token "<|pad|>" is not in the vocabulary of`,
      ),
    });
    await writeFile(
      join(folder, 'tokenizer_config.json'),
      '{"pad_token": null, "eos_token": "</s>"}',
    );
    expect((await loadTokenizer(folder)).eosId).toBe(llama2.eosId);
  });

  it('refuses a path that does not exist, naming the ref', async () => {
    const ref = join(dir, 'missing', 'tokenizer.json');

    await expect(loadTokenizer(ref)).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining(`tokenizer_ref "${ref}"`),
    });
  });

  it('refuses a file that is not a tokenizer', async () => {
    const broken = join(dir, 'tokenizer.json');
    await writeFile(broken, '{"version": "1.0"');
    const notTokenizer = join(dir, 'other.json');
    await writeFile(notTokenizer, '{"version": "1.0"}');

    await expect(loadTokenizer(broken)).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining('is not valid JSON'),
    });
    await expect(loadTokenizer(notTokenizer)).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringMatching(
        /other\.json is not a usable tokenizer\.json: it has no "model"/,
      ),
    });
  });

  it('calls an unknown bare name an unknown reference and lists the known ones', async () => {
    await expect(loadTokenizer('gpt9')).rejects.toMatchObject({
      code: ErrorCodes.UNKNOWN_REFERENCE,
      message: expect.stringContaining('llama2'),
    });
  });
});

describe('tokenizer backends', () => {
  it('give the same ids natively, in pure JS word by word, and in pure JS over whole texts', async () => {
    const json = JSON.parse(await readFile(llama2.files.tokenizerPath, 'utf8')) as {
      added_tokens: object[];
    };
    // Ingest reads special tokens' text as text (next test): so does the reference.
    const reference = createHfTokenizer({ ...json, added_tokens: [] }, {});

    expect(reference.pre_tokenizer).toBeNull();
    for (const text of TEXTS) {
      const ids = await native.encode(text);
      expect(await js.encode(text)).toEqual(ids);
      expect(reference.encode(text, { add_special_tokens: false }).ids).toEqual(ids);
    }
  });

  // Found by a newcomer: `<s>` in an HTML e-mail became the BOS id, and a document quoting
  // `</s>` the end-of-sequence id that separates documents in generation shards.
  it("reads special tokens' text in the data as text, in both backends", async () => {
    const text = 'a <s> b </s> c <unk>';
    const special = [llama2.padId, 1, llama2.eosId];
    for (const encoder of [native, js]) {
      const ids = await encoder.encode(text);
      expect(ids.filter((id) => special.includes(id))).toEqual([]);
      expect(ids).toEqual(await native.encode(text));
    }
    // `▁<`, `s`, `>`: the characters, as the vocabulary spells them.
    expect(await native.encode('<s>')).toEqual([523, 28713, 28767]);
  });

  it('refuses a tokenizer file whose bytes changed since the main thread hashed it', async () => {
    await expect(
      openEncoder('llama2', 'native', llama2.files, 'f'.repeat(64)),
    ).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining('changed on disk'),
    });
  });

  it('names the ref when the native library cannot build the tokenizer', async () => {
    const path = join(dir, 'tokenizer.json');
    await writeFile(path, JSON.stringify({ model: { type: 'Nonsense', vocab: { a: 0 } } }));
    const loaded = await loadTokenizer(path);

    await expect(openEncoder(path, 'native', loaded.files, loaded.sha256)).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining(`tokenizer_ref "${path}"`),
    });
  });
});

describe('encodeHead', () => {
  it('matches the first ids of the whole text when only a window is encoded', async () => {
    const sentence =
      'Limited offer:  designer\twatches at 90% off!\r\nReply;\r  now, café résumé 😀. ';
    const text = sentence.repeat(60);
    const all = await native.encode(text);

    // Many sizes, so that window cuts land next to "\r", tabs and double spaces.
    for (let maxTokens = 4; maxTokens <= 260; maxTokens += 7) {
      const head = await encodeHead(native, true, text, maxTokens);
      expect(head.truncated).toBe(true);
      expect(head.ids).toEqual(all.slice(0, maxTokens));
    }
    expect(await encodeHead(native, true, 'short text', 64)).toEqual({
      ids: await native.encode('short text'),
      truncated: false,
    });
  });
});
