import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { ingestDataset } from '../src/ingest/ingest-dataset.js';
import { IngestPool } from '../src/ingest/ingest-pool.js';
import type { IngestRequest } from '../src/ingest/ingest-request.js';
import { readShards } from '../src/ingest/shard-reader.js';
import type { Logger } from '../src/log/logger.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

/** Keeps every message so tests can count builds. */
function recordingLogger(lines: string[] = []): Logger & { lines: string[] } {
  const record = (message: string): void => void lines.push(message);
  const logger = {
    lines,
    debug: record,
    info: record,
    warn: record,
    error: record,
    child: () => logger,
  };
  return logger;
}

const classification: IngestRequest = {
  datasetUri: fixture('classification.jsonl'),
  tokenizerRef: 'llama2',
  seqLen: 16,
  taskType: 'classification',
};

let pool: IngestPool;
let cacheDir: string;

beforeAll(() => {
  pool = new IngestPool({ threads: 2 });
});

afterAll(async () => {
  await pool.close();
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'automat-ingest-dataset-'));
});

afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe('ingestDataset', () => {
  it('writes stratified classification shards that read back verified', async () => {
    const result = await ingestDataset(classification, {
      pool,
      cacheDir,
      logger: recordingLogger(),
    });

    const shards = await readShards(result.manifestPath);
    const { manifest } = shards;
    expect(result.cacheHit).toBe(false);
    expect(result.stats).toMatchObject({ lines: 48, rows: 48, bad_lines: 0 });
    expect(manifest).toMatchObject({
      seq_len: 16,
      labels: ['ham', 'spam'],
      tokenizer: { ref: 'llama2', vocab_size: 32000, pad_id: 0 },
      dataset: { rows: 48, bad_lines: 0 },
      split: { seed: 1337, val_fraction: 0.2 },
    });
    // 24 rows per label, round(24 × 0.2) = 5 of each held out.
    expect(shards.validation.rows).toBe(10);
    expect([...(shards.validation.labels ?? [])].filter((l) => l === 1).length).toBe(5);
    expect(shards.train.rows).toBe(38);
    expect(shards.train.tokens.length).toBe(38 * 16);
    const lengths = [...(shards.train.lengths ?? []), ...(shards.validation.lengths ?? [])];
    expect(result.stats.tokens).toBe(lengths.reduce((a, b) => a + b, 0));
  });

  it('answers a second call from the cache, quickly', async () => {
    const logger = recordingLogger();
    const first = await ingestDataset(classification, { pool, cacheDir, logger });

    const second = await ingestDataset(classification, { pool, cacheDir, logger });

    expect(second.cacheHit).toBe(true);
    expect(second.manifestPath).toBe(first.manifestPath);
    expect(second.manifest).toEqual(first.manifest);
    expect(second.stats.ms).toBeLessThan(Math.max(first.stats.ms, 500));
    expect(logger.lines.filter((line) => line === 'ingest started')).toHaveLength(1);
  });

  it('builds once for two concurrent calls with the same key', async () => {
    const logger = recordingLogger();

    const [a, b] = await Promise.all([
      ingestDataset(classification, { pool, cacheDir, logger }),
      ingestDataset(classification, { pool, cacheDir, logger }),
    ]);

    expect(a.manifestPath).toBe(b.manifestPath);
    // Both joined the one build: neither found finished shards.
    expect([a.cacheHit, b.cacheHit]).toEqual([false, false]);
    expect(logger.lines.filter((line) => line === 'ingest started')).toHaveLength(1);
  });

  it('writes byte-identical shards for one seed and different ones for another', async () => {
    const other = await mkdtemp(join(tmpdir(), 'automat-ingest-dataset-other-'));
    try {
      const context = { pool, logger: recordingLogger() };
      const a = await ingestDataset(classification, { ...context, cacheDir });
      const b = await ingestDataset(classification, { ...context, cacheDir: other });
      const c = await ingestDataset({ ...classification, seed: 7 }, { ...context, cacheDir });

      expect(b.manifest.key).toBe(a.manifest.key);
      expect(b.manifest.splits).toEqual(a.manifest.splits);
      expect(c.manifest.key).not.toBe(a.manifest.key);
      expect(c.manifest.splits.train.tokens.sha256).not.toBe(a.manifest.splits.train.tokens.sha256);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('rebuilds a cache entry that lost a file', async () => {
    const logger = recordingLogger();
    const first = await ingestDataset(classification, { pool, cacheDir, logger });
    await unlink(join(first.manifestPath, '..', 'train.lengths.i32'));

    const second = await ingestDataset(classification, { pool, cacheDir, logger });

    expect(second.cacheHit).toBe(false);
    expect(logger.lines).toContain('shard cache entry damaged; rebuilding');
    await expect(readShards(second.manifestPath)).resolves.toBeDefined();
  });

  it('packs generation documents into blocks of seq_len + 1 tokens', async () => {
    const request: IngestRequest = {
      datasetUri: fixture('generation.jsonl'),
      tokenizerRef: 'llama2',
      seqLen: 15,
      taskType: 'generation',
    };

    const result = await ingestDataset(request, { pool, cacheDir, logger: recordingLogger() });

    const shards = await readShards(result.manifestPath);
    expect(result.manifest).toMatchObject({ seq_len: 16, labels: [], dataset: { rows: 24 } });
    expect(shards.train.rows).toBeGreaterThan(0);
    expect(shards.validation.rows).toBeGreaterThan(0);
    expect(shards.train.tokens.length).toBe(shards.train.rows * 16);
    expect(shards.train.labels).toBeUndefined();
    expect(shards.train.tokens).toContain(2); // documents end with </s>
  });

  it('refuses missing, bad and too-small datasets with the matching code', async () => {
    const context = { pool, cacheDir, logger: recordingLogger() };
    const missing = join(cacheDir, 'missing.jsonl');

    await expect(
      ingestDataset({ ...classification, datasetUri: missing }, context),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(missing),
    });
    await expect(
      ingestDataset({ ...classification, datasetUri: fixture('bad-lines.jsonl') }, context),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_INVALID,
      message: expect.stringContaining('line 2'),
    });
    await expect(
      ingestDataset({ ...classification, datasetUri: fixture('empty.jsonl') }, context),
    ).rejects.toMatchObject({ code: ErrorCodes.DATASET_INVALID });
    await expect(ingestDataset({ ...classification, seqLen: 0 }, context)).rejects.toMatchObject({
      message: expect.stringContaining(
        'ingest.seqLen must be an integer between 8 and 8192, got 0',
      ),
    });
  });

  it('stops with CANCELLED when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('trial cancelled'));

    await expect(
      ingestDataset(classification, {
        pool,
        cacheDir,
        logger: recordingLogger(),
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
  });
});
