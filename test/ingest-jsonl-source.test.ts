import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { locateDataset } from '../src/ingest/dataset-location.js';
import { JsonlSource, type JsonlRecord } from '../src/ingest/jsonl-source.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

async function readAll(source: JsonlSource): Promise<JsonlRecord[]> {
  const records: JsonlRecord[] = [];
  for await (const record of source) records.push(record);
  return records;
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-ingest-jsonl-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JsonlSource', () => {
  it('yields good lines with their line numbers and counts bad ones with reasons', async () => {
    const source = new JsonlSource(fixture('bad-lines.jsonl'), { requireLabel: true });

    const records = await readAll(source);

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
      { line: 8, reason: '"label" must be a string or number' },
    ]);
  });

  it('refuses a dataset whose bad lines pass the threshold, naming lines and reasons', async () => {
    const source = new JsonlSource(fixture('bad-lines.jsonl'), { requireLabel: true });
    await readAll(source);

    expect(() => source.assertUsable(0.01)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.DATASET_INVALID,
        message: expect.stringMatching(
          /bad-lines\.jsonl: 4 of 8 lines are bad.*line 2: not valid JSON/,
        ),
      }),
    );
    expect(() => source.assertUsable(0.5)).not.toThrow();
  });

  it('reads text alone when labels are not required, else accepts numeric labels', async () => {
    const path = join(dir, 'mixed.jsonl');
    await writeFile(path, '\uFEFF{"text":"a","label":1}\r\n{"text":"b"}\r\n');

    const generation = await readAll(new JsonlSource(path, { requireLabel: false }));
    const classification = new JsonlSource(path, { requireLabel: true });
    const labelled = await readAll(classification);

    expect(generation.map((r) => [r.text, r.label])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    expect(labelled).toEqual([{ line: 1, text: 'a', label: '1' }]);
    expect(classification.report.badLines).toBe(1);
  });

  it('refuses an empty dataset', async () => {
    const source = new JsonlSource(fixture('empty.jsonl'), { requireLabel: true });

    expect(await readAll(source)).toEqual([]);
    expect(() => source.assertUsable(0.01)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.DATASET_INVALID,
        message: expect.stringContaining('empty.jsonl has no usable lines'),
      }),
    );
  });

  it('reports a missing file as DATASET_NOT_FOUND naming the path', async () => {
    const missing = join(dir, 'nope.jsonl');

    await expect(readAll(new JsonlSource(missing, { requireLabel: true }))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(missing),
    });
  });
});

describe('locateDataset', () => {
  it('accepts paths and file:// URIs and names the path when nothing is there', async () => {
    const path = fixture('classification.jsonl');

    expect((await locateDataset(pathToFileURL(path).href)).path).toBe(path);
    await expect(locateDataset(join(dir, 'gone.jsonl'))).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(join(dir, 'gone.jsonl')),
    });
    await expect(locateDataset('s3://bucket/data.jsonl')).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining('scheme "s3" is not supported'),
    });
  });
});
