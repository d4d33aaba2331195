import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { encodeAll, encodeHead } from '../src/ingest/encode-text.js';
import { createHfTokenizer } from '../src/ingest/hf-tokenizer.js';
import { loadTokenizer, resolveTokenizerRef } from '../src/ingest/tokenizer-registry.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-ingest-tokenizer-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadTokenizer', () => {
  it('loads the llama2 registry entry with its hash, vocabulary and special ids', async () => {
    const tokenizer = await loadTokenizer('llama2');
    const bytes = await readFile(tokenizer.files.tokenizerPath);

    expect(tokenizer.files.tokenizerPath).toMatch(
      /tokenizer-llama2[\\/]models[\\/]tokenizer\.json$/,
    );
    expect(tokenizer.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(tokenizer.vocabSize).toBe(32000);
    expect(tokenizer.padId).toBe(0); // no pad token: <unk> stands in
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.wordBounded).toBe(true);
    // Ingest adds no <s>: the first id is a word, not the BOS id 1.
    expect(encodeAll(tokenizer, 'Hello world')[0]).not.toBe(1);
  });

  it('loads a tokenizer.json by path and by the folder holding it', async () => {
    const { tokenizerPath } = resolveTokenizerRef('llama2');
    const folder = join(dir, 'my-tokenizer');
    await mkdir(folder);
    await copyFile(tokenizerPath, join(folder, 'tokenizer.json'));

    const byFile = await loadTokenizer(join(folder, 'tokenizer.json'));
    const byFolder = await loadTokenizer(folder);

    expect(byFile.files.configPath).toBeNull();
    expect(byFolder.sha256).toBe(byFile.sha256);
    expect(encodeAll(byFolder, 'spam and ham')).toEqual(
      encodeAll(await loadTokenizer('llama2'), 'spam and ham'),
    );
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
      message: expect.stringContaining(notTokenizer),
    });
  });

  it('calls an unknown bare name an unknown reference and lists the known ones', async () => {
    await expect(loadTokenizer('gpt9')).rejects.toMatchObject({
      code: ErrorCodes.UNKNOWN_REFERENCE,
      message: expect.stringContaining('llama2'),
    });
  });
});

describe('word-by-word BPE', () => {
  it('gives the same ids as the library tokenizer run over whole texts', async () => {
    const tokenizer = await loadTokenizer('llama2');
    const json = JSON.parse(await readFile(tokenizer.files.tokenizerPath, 'utf8')) as object;
    const reference = createHfTokenizer(json, {});
    const texts = ['multipart.eml', 'html-only.eml', 'classification.jsonl'].map((name) =>
      readFileSync(new URL(`./fixtures/ingest/${name}`, import.meta.url), 'utf8'),
    );
    texts.push('tabs\t\there, 1234567 digits,\r\n\r\n  spaces   — “quoted” 😀 <s> </s>');

    expect(reference.pre_tokenizer).toBeNull();
    expect(tokenizer.encoder.pre_tokenizer).not.toBeNull();
    for (const text of texts) {
      expect(encodeAll(tokenizer, text)).toEqual(
        reference.encode(text, { add_special_tokens: false }).ids,
      );
    }
  });
});

describe('encodeHead', () => {
  it('matches the first ids of the whole text when only a window is encoded', async () => {
    const tokenizer = await loadTokenizer('llama2');
    const sentence =
      'Limited offer:  designer\twatches at 90% off!\r\nReply;\r  now, café résumé 😀. ';
    const text = sentence.repeat(60);

    // Many sizes, so that window cuts land next to "\r", tabs and double spaces.
    for (let maxTokens = 4; maxTokens <= 260; maxTokens += 7) {
      const head = encodeHead(tokenizer, text, maxTokens);
      expect(head.truncated).toBe(true);
      expect(head.ids).toEqual(encodeAll(tokenizer, text).slice(0, maxTokens));
    }
    expect(encodeHead(tokenizer, 'short text', 64)).toEqual({
      ids: encodeAll(tokenizer, 'short text'),
      truncated: false,
    });
  });
});
