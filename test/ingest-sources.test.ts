import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { locateBytes } from '../src/ingest/sources/byte-source.js';
import { formatFromName, parseDatasetUri } from '../src/ingest/sources/dataset-uri.js';
import type { DatasetRecord } from '../src/ingest/sources/record-parsers.js';
import { RecordSource, type RecordSourceOptions } from '../src/ingest/sources/record-source.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

async function read(
  uri: string,
  options: RecordSourceOptions,
): Promise<{ records: DatasetRecord[]; source: RecordSource }> {
  const source = new RecordSource(await locateBytes(uri, undefined), options);
  const records: DatasetRecord[] = [];
  for await (const record of source) records.push(record);
  return { records, source };
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-ingest-sources-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JSON Lines', () => {
  it('yields good lines with their line numbers and counts bad ones with reasons', async () => {
    const { records, source } = await read(fixture('bad-lines.jsonl'), {
      format: 'jsonl',
      requireLabel: true,
    });

    expect(records.map((r) => [r.line, r.label])).toEqual([
      [1, 'ham'],
      [3, 'spam'],
      [6, 'ham'],
      [9, 'spam'],
    ]);
    expect(source.report).toMatchObject({ lines: 9, records: 4, badLines: 4 });
    expect(source.report.firstBad).toEqual([
      { line: 2, reason: expect.stringContaining('not valid JSON') },
      { line: 4, reason: '"text" must be a string' },
      { line: 7, reason: '"text" is empty' },
      { line: 8, reason: '"label" is missing' },
    ]);
  });

  // Found by a newcomer: `spam` and `spam ` became two classes.
  it('trims labels, so that spaces around a class name do not make another class', async () => {
    const path = join(dir, 'spaced.csv');
    await writeFile(path, 'text,label\nfirst, spam\nsecond,spam \nthird,ham\n');

    const { records } = await read(path, { format: 'csv', requireLabel: true });

    expect(records.map((r) => r.label)).toEqual(['spam', 'spam', 'ham']);
  });

  it('reads text alone when labels are not required, else accepts numeric labels', async () => {
    const path = join(dir, 'mixed.jsonl');
    await writeFile(path, '\uFEFF{"text":"a","label":1}\r\n{"text":"b"}\r\n');

    const generation = await read(path, { format: 'jsonl', requireLabel: false });
    const classification = await read(path, { format: 'jsonl', requireLabel: true });

    expect(generation.records.map((r) => [r.text, r.label])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    expect(classification.records).toEqual([{ line: 1, text: 'a', label: '1' }]);
    expect(classification.source.report.badLines).toBe(1);
  });

  it('reads gzip by its magic number and hashes the stored bytes', async () => {
    const plain = await readFile(fixture('classification.jsonl'));
    const packed = gzipSync(plain);
    const path = join(dir, 'data.jsonl.gz');
    await writeFile(path, packed);

    const gz = await read(path, { format: 'jsonl', requireLabel: true });
    const raw = await read(fixture('classification.jsonl'), {
      format: 'jsonl',
      requireLabel: true,
    });

    expect(gz.records).toEqual(raw.records);
    expect(gz.source.gzip).toBe(true);
    expect(raw.source.gzip).toBe(false);
    expect(gz.source.bytesRead).toBe(packed.length);
    expect(gz.source.sha256).not.toBe(raw.source.sha256);
  });

  it('names the dataset and line when gzip data is damaged', async () => {
    const packed = gzipSync(await readFile(fixture('classification.jsonl')));
    const path = join(dir, 'cut.jsonl.gz');
    await writeFile(path, packed.subarray(0, packed.length - 40));

    await expect(read(path, { format: 'jsonl', requireLabel: true })).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringMatching(/cut\.jsonl\.gz is damaged gzip after line \d+/),
    });
  });

  it('says so when gzip data is damaged before the first complete line', async () => {
    const packed = gzipSync(await readFile(fixture('classification.jsonl')));
    const path = join(dir, 'garbled.jsonl.gz');
    // The gzip header stays; the deflate stream right after it is overwritten.
    packed.fill(0xff, 10, 60);
    await writeFile(path, packed);

    await expect(read(path, { format: 'jsonl', requireLabel: true })).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('garbled.jsonl.gz is damaged gzip before its first'),
    });
  });

  it('reads other field names', async () => {
    const path = join(dir, 'fields.jsonl');
    await writeFile(path, '{"body":"hello","y":"greeting"}\n');

    const { records } = await read(path, {
      format: 'jsonl',
      requireLabel: true,
      textField: 'body',
      labelField: 'y',
    });

    expect(records).toEqual([{ line: 1, text: 'hello', label: 'greeting' }]);
  });
});

describe('CSV and TSV', () => {
  it('reads named columns, quoted commas, doubled quotes and quoted line breaks', async () => {
    const { records, source } = await read(fixture('reviews.csv'), {
      format: 'csv',
      requireLabel: true,
      textField: 'body',
      labelField: 'stars',
    });

    expect(records.slice(0, 4)).toEqual([
      { line: 2, text: 'Great value, would buy again', label: 'good' },
      // CRLF inside a quoted field comes back as \n, like every other line break.
      {
        line: 3,
        text: 'Arrived broken.\nThe box was crushed and "fragile" meant nothing.',
        label: 'bad',
      },
      { line: 5, text: 'Works as described', label: 'good' },
      { line: 7, text: 'Too small, returned', label: 'bad' },
    ]);
    expect(records).toHaveLength(8);
    expect(source.report.firstBad).toEqual([
      { line: 10, reason: '"body" is empty' },
      { line: 11, reason: 'has 2 fields; the header has 3' },
    ]);
  });

  it('reads TSV, where quotes count only at the start of a field', async () => {
    const { records } = await read(fixture('notes.tsv'), { format: 'tsv', requireLabel: true });

    expect(records.map((r) => [r.text, r.label])).toEqual([
      ['the quick brown fox', 'animal'],
      ['quoted\ttab', 'punct'],
      ['a "stray" quote inside', 'punct'],
      ['lazy dog sleeps', 'animal'],
    ]);
  });

  it('refuses a header without the text or label column, listing the columns it has', async () => {
    await expect(
      read(fixture('reviews.csv'), { format: 'csv', requireLabel: true }),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringMatching(
        /reviews\.csv: the header \(line 1\) has no column "text"; it has "id", "body", "stars"/,
      ),
    });
  });

  // Regression: the lines swallowed by the open quote counted as one bad line, so a large file
  // passed the bad-line threshold while losing everything after the quote.
  it('counts every line a never-closed quote swallowed as bad', async () => {
    const path = join(dir, 'open.csv');
    const rows = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => `row ${from + i},${i % 2 ? 'a' : 'b'}\n`).join('');
    await writeFile(path, `text,label\n${rows(300, 0)}"never closed,b\n${rows(300, 300)}`);

    const { records, source } = await read(path, { format: 'csv', requireLabel: true });

    expect(records).toHaveLength(300);
    expect(source.report.badLines).toBe(301);
    expect(source.report.firstBad).toEqual([
      { line: 302, reason: 'a quoted field is never closed; lines 302–602 were read into it' },
    ]);
    expect(() => source.assertUsable(0.01)).toThrow('301 of 601 lines are bad');
  });
});

describe('plain text', () => {
  it('reads documents separated by blank lines', async () => {
    const { records } = await read(fixture('speeches.txt'), {
      format: 'text',
      requireLabel: false,
    });

    expect(records).toEqual([
      {
        line: 1,
        text: 'Fellow citizens, the state of the union is strong.\nWe have much to do.',
        label: null,
      },
      { line: 5, text: 'The second document starts here\nand runs over two lines.', label: null },
      { line: 8, text: 'A third, short one.', label: null },
    ]);
  });

  it('refuses classification, which needs labels', async () => {
    await expect(
      read(fixture('speeches.txt'), { format: 'text', requireLabel: true }),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('plain text has no labels'),
    });
  });
});

describe('locating datasets', () => {
  it('accepts paths and file:// URIs and names the path when nothing is there', async () => {
    const path = fixture('classification.jsonl');

    expect((await locateBytes(pathToFileURL(path).href, undefined)).name).toBe(path);
    await expect(locateBytes(join(dir, 'gone.jsonl'), undefined)).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(join(dir, 'gone.jsonl')),
    });
    await expect(locateBytes('s3://bucket/data.jsonl', undefined)).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining('s3:// datasets need S3 settings'),
    });
    await expect(locateBytes('https://example.com/a.jsonl', undefined)).rejects.toMatchObject({
      message: expect.stringContaining('scheme "https" is not supported'),
    });
  });

  it('reads reading options from the URI fragment and formats from file names', () => {
    expect(parseDatasetUri('s3://b/reviews.csv.gz#text=body&label=stars')).toEqual({
      location: 's3://b/reviews.csv.gz',
      format: undefined,
      textField: 'body',
      labelField: 'stars',
    });
    expect(parseDatasetUri('/data/odd#name.jsonl').location).toBe('/data/odd#name.jsonl');
    expect(parseDatasetUri('/data/x.dat#format=tsv').format).toBe('tsv');
    expect(() => parseDatasetUri('/data/x#format=xml')).toThrow(
      expect.objectContaining({
        code: ErrorCodes.DATASET_INVALID,
        message: expect.stringContaining('/data/x#format=xml: #format must be one of'),
      }),
    );
    expect(
      ['a.jsonl', 'a.ndjson.gz', 'a.csv', 'a.TSV', 'a.txt.gz', 'a.parquet'].map(formatFromName),
    ).toEqual(['jsonl', 'jsonl', 'csv', 'tsv', 'text', undefined]);
  });
});
