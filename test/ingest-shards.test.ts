import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { splitRows } from '../src/ingest/dataset-split.js';
import { readShards } from '../src/ingest/shard-reader.js';
import { writeShards, type ManifestHeader } from '../src/ingest/shard-writer.js';

const header: ManifestHeader = {
  key: 'test-key',
  task_type: 'classification',
  seq_len: 4,
  tokenizer: { ref: 'llama2', sha256: 'a'.repeat(64), vocab_size: 32000, pad_id: 0 },
  dataset: { uri: 'data.jsonl', sha256: 'b'.repeat(64), rows: 3, bad_lines: 0 },
  labels: ['ham', 'spam'],
  split: { seed: 1337, val_fraction: 0.2 },
};

const train = {
  rows: 2,
  tokens: Int32Array.of(5, 6, 7, 0, 8, 9, 10, 11),
  labels: Int32Array.of(0, 1),
  lengths: Int32Array.of(3, 4),
};
const validation = {
  rows: 1,
  tokens: Int32Array.of(12, 0, 0, 0),
  labels: Int32Array.of(1),
  lengths: Int32Array.of(1),
};

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-ingest-shards-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeShards and readShards', () => {
  it('round-trips every array and records sizes and checksums', async () => {
    const written = await writeShards({ dir: join(dir, 'key'), header, train, validation });

    const shards = await readShards(written.manifestPath);

    expect(shards.train).toEqual(train);
    expect(shards.validation).toEqual(validation);
    expect(shards.manifest.splits.train.tokens).toMatchObject({
      file: 'train.tokens.i32',
      shape: [2, 4],
      bytes: 32,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Nothing but the published folder is left behind.
    expect(await readdir(dir)).toEqual(['key']);
  });

  it('detects a flipped byte as SHARD_CORRUPT naming the file', async () => {
    const written = await writeShards({ dir: join(dir, 'key'), header, train, validation });
    const file = join(dir, 'key', 'train.tokens.i32');
    const bytes = await readFile(file);
    bytes[0] = (bytes[0] as number) ^ 0xff;
    await writeFile(file, bytes);

    await expect(readShards(written.manifestPath)).rejects.toMatchObject({
      code: ErrorCodes.SHARD_CORRUPT,
      message: expect.stringContaining('train.tokens.i32 has sha256'),
    });
  });

  it('detects a truncated shard and a foreign manifest', async () => {
    const written = await writeShards({ dir: join(dir, 'key'), header, train, validation });
    await writeFile(join(dir, 'key', 'validation.lengths.i32'), Buffer.alloc(2));

    await expect(readShards(written.manifestPath)).rejects.toMatchObject({
      code: ErrorCodes.SHARD_CORRUPT,
      message: expect.stringContaining('validation.lengths.i32 holds 2 bytes'),
    });
    await writeFile(written.manifestPath, '{"format":"other/v9"}');
    await expect(readShards(written.manifestPath)).rejects.toMatchObject({
      code: ErrorCodes.SHARD_CORRUPT,
      message: expect.stringContaining('format must be "automat0.shards/v1"'),
    });
  });

  it("keeps the first writer's folder when a second one publishes the same key", async () => {
    const first = await writeShards({ dir: join(dir, 'key'), header, train, validation });
    const second = await writeShards({
      dir: join(dir, 'key'),
      header: { ...header, key: 'other' },
      train,
      validation,
    });

    expect(second.reused).toBe(true);
    expect(second.manifest.key).toBe(first.manifest.key);
    expect(await readdir(dir)).toEqual(['key']);
  });
});

describe('splitRows', () => {
  const groups = Int32Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));

  it('is reproducible for a seed and differs between seeds', () => {
    const a = splitRows(groups, 1337, 0.2);
    const b = splitRows(groups, 1337, 0.2);
    const c = splitRows(groups, 7, 0.2);

    expect(b).toEqual(a);
    expect(c.validation).not.toEqual(a.validation);
  });

  it('holds out the fraction within every label and uses every row once', () => {
    const { train: trainRows, validation: validationRows } = splitRows(groups, 1337, 0.2);
    const count = (rows: Int32Array, label: number): number =>
      rows.filter((row) => groups[row] === label).length;

    expect(count(validationRows, 1)).toBe(60);
    expect(count(validationRows, 0)).toBe(140);
    expect(new Set([...trainRows, ...validationRows]).size).toBe(1000);
  });

  it('never leaves validation empty when there are two rows or more', () => {
    const tiny = splitRows(Int32Array.of(0, 1), 1337, 0.2);

    expect(tiny.validation.length).toBe(1);
    expect(tiny.train.length).toBe(1);
  });
});
