import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { ShardService } from '../src/executor/shard-service.js';
import { silentLogger } from '../src/log/logger.js';
import type { IngestRequest } from '../src/trial/trial-ports.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

let service: ShardService;
let work: string;

const request = (overrides: Partial<IngestRequest> = {}): IngestRequest => ({
  datasetUri: fixture('classification.jsonl'),
  tokenizerRef: 'llama2',
  seqLen: 16,
  taskType: 'classification',
  valFraction: 0.2,
  seed: 1337,
  ...overrides,
});

beforeAll(() => {
  service = new ShardService({
    cacheDir: join(tmpdir(), `automat-ingest-errors-${process.pid}`),
    threads: 1,
    logger: silentLogger,
  });
});

afterAll(async () => {
  await service.close();
  await rm(join(tmpdir(), `automat-ingest-errors-${process.pid}`), {
    recursive: true,
    force: true,
  });
});

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'automat-ingest-errors-data-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('ingest errors fail the request with a clear message, never the service', () => {
  it('names a missing file', async () => {
    const missing = join(work, 'missing.jsonl');

    await expect(service.ingest(request({ datasetUri: missing }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(`no file at ${missing}`),
    });
  });

  it('says how a "#" was read when a path with one is missing', async () => {
    const typo = `${join(work, 'missing.jsonl')}#txt=body`;

    await expect(service.ingest(request({ datasetUri: typo }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(
        '(a "#" is part of the path unless only format=, text= and label= options follow it)',
      ),
    });
  });

  it('names the dataset, lines and reasons when too many lines are unreadable', async () => {
    await expect(
      service.ingest(request({ datasetUri: fixture('bad-lines.jsonl') })),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining(
        'bad-lines.jsonl: 4 of 8 lines are bad (50.0%, more than the 1.00% allowed); ' +
          'first bad: line 2: not valid JSON',
      ),
    });
  });

  it('names the lines whose label is missing', async () => {
    const path = join(work, 'labels.csv');
    await writeFile(path, 'text,label\ngood one,a\nno label,\nanother,b\n');

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining(
        'labels.csv: 1 of 3 lines are bad (33.3%, more than the 1.00% allowed); first bad: line 3: "label" is empty',
      ),
    });
  });

  // The cached shards were built under a looser threshold; a stricter request must not reuse them.
  it('accepts a few bad lines under the threshold, counts them, and refuses them when stricter', async () => {
    const outcome = await service.prepare({
      ...request({ datasetUri: `${fixture('reviews.csv')}#text=body&label=stars` }),
      maxBadFraction: 0.25,
    });

    await expect(
      service.ingest(request({ datasetUri: `${fixture('reviews.csv')}#text=body&label=stars` })),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringMatching(
        /2 of 10 lines are bad \(20\.00%, more than the 1\.00% allowed\); first bad: line \d+: /,
      ),
    });
    expect(outcome.manifest.dataset).toMatchObject({
      rows: 8,
      bad_lines: 2,
      format: 'csv',
      name: 'reviews',
    });
    expect(outcome.stats).toMatchObject({ rows: 8, bad_lines: 2 });
  });

  it('skips a line past the length bound as bad, naming its size', async () => {
    const path = join(work, 'overlong.jsonl');
    const overlong = JSON.stringify({ text: 'x'.repeat(17 * 1024 * 1024), label: 'a' });
    await writeFile(path, `{"text":"fine","label":"a"}\n${overlong}\n{"text":"ok","label":"b"}\n`);

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining(
        `overlong.jsonl: 1 of 3 lines are bad (33.3%, more than the 1.00% allowed); ` +
          `first bad: line 2: is ${overlong.length} bytes long, over the 16777216 allowed`,
      ),
    });
  });

  it('refuses a label column with more distinct values than a classifier can take', async () => {
    const path = join(work, 'ids-as-labels.csv');
    const rows = Array.from({ length: 1100 }, (_, i) => `text number ${i},id-${i}`);
    await writeFile(path, `text,label\n${rows.join('\n')}\n`);

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining(
        `ids-as-labels.csv: line 1026 has label "id-1024", ` +
          'one more than the 1024 distinct labels a classification dataset may have',
      ),
    });
  });

  it('counts a label longer than a class name as a bad line', async () => {
    const path = join(work, 'long-label.csv');
    await writeFile(path, `text,label\nfirst,a\nsecond,${'b'.repeat(300)}\nthird,b\n`);

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('line 3: "label" is longer than 256 characters'),
    });
  });

  it('names the dataset whose every line has the same label', async () => {
    const path = join(work, 'one-label.csv');
    await writeFile(path, 'text,label\nfirst,ham\nsecond,ham\nthird,ham\n');

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining(
        'one-label.csv: a classification dataset needs at least 2 distinct labels, found 1 ("ham")',
      ),
    });
  });

  // Regression: a binary file's bytes reached the stored error, the terminal and the JSON log.
  it('keeps raw bytes of a binary file out of the error, escaped and cut short', async () => {
    const path = join(work, 'garbage.jsonl');
    const noise = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256));
    await writeFile(path, Buffer.concat([noise, Buffer.from('\n'), noise]));

    const error = (await service
      .ingest(request({ datasetUri: path }))
      .catch((e: unknown) => e)) as Error;

    expect(error).toMatchObject({ code: ErrorCodes.DATASET_INVALID });
    expect(error.message).toMatch(/garbage\.jsonl has no usable lines \((\d+) read, \1 bad\)/);
    const invisible = [...error.message].filter((c) => c < ' ' || c === '\ufffd');
    expect(invisible).toEqual([]);
    expect(error.message).toContain('\\ufffd');
    for (const reason of error.message.split('; line ').slice(1)) {
      expect(reason.length).toBeLessThanOrEqual(220);
    }
  });

  it('refuses an empty dataset', async () => {
    await expect(
      service.ingest(request({ datasetUri: fixture('empty.jsonl') })),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('empty.jsonl has no usable lines (3 read, 0 bad)'),
    });
  });

  it('refuses a dataset whose format it cannot tell', async () => {
    const path = join(work, 'data.parquet');
    await writeFile(path, 'PAR1');

    await expect(service.ingest(request({ datasetUri: path }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('cannot tell its format from the name'),
    });
  });

  it('names a tokenizer that does not load, then keeps serving', async () => {
    const broken = join(work, 'tokenizer.json');
    await writeFile(broken, JSON.stringify({ model: { type: 'Nonsense', vocab: { a: 0 } } }));

    await expect(
      service.ingest(request({ tokenizerRef: join(work, 'nope.json') })),
    ).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
    });
    await expect(service.ingest(request({ tokenizerRef: broken }))).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining(`tokenizer_ref "${broken}"`),
    });
    await expect(service.ingest(request())).resolves.toMatchObject({
      manifestPath: expect.any(String),
    });
  });
});
