/**
 * Shards opened for training: tokens stay in their file and are read by row, after one
 * streaming pass that checks size, sha256 and every id.
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { openShards, readShards } from '../src/ingest/shard-reader.js';
import { writeShards, type ManifestHeader } from '../src/ingest/shard-writer.js';

const COLUMNS = 8;
// Over a megabyte of ids, so that the check reads the file in more than one chunk.
const TRAIN_ROWS = 40_000;

const header: ManifestHeader = {
  key: 'rows-key',
  task_type: 'classification',
  seq_len: COLUMNS,
  tokenizer: { ref: 'llama2', sha256: 'a'.repeat(64), vocab_size: 32000, pad_id: 0 },
  dataset: { uri: 'data.jsonl', sha256: 'b'.repeat(64), rows: TRAIN_ROWS + 2, bad_lines: 0 },
  labels: ['ham', 'spam'],
  split: { seed: 1337, val_fraction: 0.2 },
};

function split(rows: number, first: number) {
  return {
    rows,
    tokens: Int32Array.from({ length: rows * COLUMNS }, (_, i) => (first + i) % 31_000),
    labels: Int32Array.from({ length: rows }, (_, i) => i % 2),
    lengths: Int32Array.from({ length: rows }, () => COLUMNS),
  };
}

let dir: string;
let manifestPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-shard-rows-'));
  const written = await writeShards({
    dir: join(dir, 'key'),
    header,
    train: split(TRAIN_ROWS, 1),
    validation: split(2, 7),
  });
  manifestPath = written.manifestPath;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openShards', () => {
  it('reads any row, or a run of rows, exactly as the whole file holds it', async () => {
    const whole = await readShards(manifestPath);
    const opened = await openShards(manifestPath);
    const rowsOf = (tokens: Int32Array, start: number, count: number) =>
      tokens.subarray(start * COLUMNS, (start + count) * COLUMNS);
    try {
      expect(opened.train.tokens).toMatchObject({ rows: TRAIN_ROWS, columns: COLUMNS });
      expect(opened.train.labels).toEqual(whole.train.labels);
      for (const row of [0, 1, 31_337, TRAIN_ROWS - 1]) {
        const target = new Int32Array(3 * COLUMNS);
        opened.train.tokens.copyRow(row, target, COLUMNS);
        expect(target.subarray(COLUMNS, 2 * COLUMNS)).toEqual(rowsOf(whole.train.tokens, row, 1));
      }
      expect(opened.train.tokens.readRows(100, 50)).toEqual(rowsOf(whole.train.tokens, 100, 50));
      expect(opened.validation.tokens.readRows(0, 2)).toEqual(whole.validation.tokens);
    } finally {
      await opened.train.tokens.close();
      await opened.validation.tokens.close();
    }
  });

  it('checks every id as it opens the files', async () => {
    const seen: Array<[string, number]> = [];

    const opened = await openShards(manifestPath, (ids, split) => seen.push([split, ids.length]));

    const idsOf = (split: string) =>
      seen.filter(([name]) => name === split).reduce((sum, [, n]) => sum + n, 0);
    expect(idsOf('train')).toBe(TRAIN_ROWS * COLUMNS);
    expect(idsOf('validation')).toBe(2 * COLUMNS);
    expect(seen.length).toBeGreaterThan(2);
    await opened.train.tokens.close();
    await opened.validation.tokens.close();
    const refuse = (ids: Int32Array) => {
      if (ids.some((id) => id >= 30_000)) throw new Error('id past the vocabulary');
    };
    await expect(openShards(manifestPath, refuse)).rejects.toThrow('id past the vocabulary');
  });

  it('refuses a shard whose bytes or size changed, naming the file', async () => {
    const tokens = join(dir, 'key', 'train.tokens.i32');
    await writeFile(tokens, Buffer.alloc(TRAIN_ROWS * COLUMNS * 4, 1));

    const changed = await openShards(manifestPath).catch((error: unknown) => error);
    expect(changed).toBeInstanceOf(AutomatError);
    expect(changed).toMatchObject({
      code: ErrorCodes.SHARD_CORRUPT,
      message: expect.stringMatching(/train\.tokens\.i32 has sha256 [0-9a-f]{64}; manifest says/),
    });

    await truncate(tokens, 12);
    await expect(openShards(manifestPath)).rejects.toMatchObject({
      code: ErrorCodes.SHARD_CORRUPT,
      message: expect.stringContaining('train.tokens.i32 holds 12 bytes; expected 1280000'),
    });
  });
});
