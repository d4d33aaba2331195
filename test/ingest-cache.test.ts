import { copyFile, mkdtemp, open, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestDataset, type IngestContext } from '../src/ingest/ingest-dataset.js';
import { IngestPool } from '../src/ingest/ingest-pool.js';
import type { IngestRequest } from '../src/ingest/ingest-request.js';
import { readShards } from '../src/ingest/shard-reader.js';
import type { Logger } from '../src/log/logger.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

/** Keeps every message, and the metadata of warnings, so tests can count builds. */
function recordingLogger(): Logger & { lines: string[]; warnings: unknown[] } {
  const lines: string[] = [];
  const warnings: unknown[] = [];
  const logger = {
    lines,
    warnings,
    debug: (message: string) => void lines.push(message),
    info: (message: string) => void lines.push(message),
    warn: (message: string, meta?: unknown) => {
      lines.push(message);
      warnings.push(meta);
    },
    error: (message: string) => void lines.push(message),
    child: () => logger,
  };
  return logger;
}

let pool: IngestPool;
let work: string;
let dataset: string;
let request: IngestRequest;
let logger: ReturnType<typeof recordingLogger>;
let context: IngestContext;

const builds = (): number => logger.lines.filter((line) => line === 'ingest started').length;

beforeAll(() => {
  pool = new IngestPool({ threads: 2 });
});

afterAll(async () => {
  await pool.close();
});

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'automat-ingest-cache-'));
  dataset = join(work, 'data.jsonl');
  await copyFile(fixture('classification.jsonl'), dataset);
  request = { datasetUri: dataset, tokenizerRef: 'llama2', seqLen: 16, taskType: 'classification' };
  logger = recordingLogger();
  context = { pool, cacheDir: join(work, 'cache'), logger };
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('shard cache', () => {
  it('answers the same request again from the cache in under 50 ms', async () => {
    const first = await ingestDataset(request, context);

    const second = await ingestDataset(request, context);

    expect(first).toMatchObject({ cacheHit: false, source: 'built' });
    expect(second).toMatchObject({ cacheHit: true, source: 'local' });
    expect(second.manifestPath).toBe(first.manifestPath);
    expect(second.stats.ms).toBeLessThan(50);
    expect(builds()).toBe(1);
  });

  it('misses when seq_len, the split seed or the reading options change', async () => {
    const base = await ingestDataset(request, context);

    const longer = await ingestDataset({ ...request, seqLen: 32 }, context);
    const reseeded = await ingestDataset({ ...request, seed: 7 }, context);
    const renamedField = await ingestDataset(
      { ...request, datasetUri: `${dataset}#text=text&label=label` },
      context,
    );

    expect(new Set([base, longer, reseeded].map((o) => o.manifest.key)).size).toBe(3);
    // Naming the default fields explicitly reads the same way: same key, no build.
    expect(renamedField).toMatchObject({ cacheHit: true });
    expect(builds()).toBe(3);
  });

  it('reads a changed dataset again and keys it by its new content', async () => {
    const before = await ingestDataset(request, context);
    await writeFile(dataset, `${'{"text":"one more ham line","label":"ham"}\n'}`, { flag: 'a' });

    const after = await ingestDataset(request, context);

    expect(after.cacheHit).toBe(false);
    expect(after.manifest.dataset.sha256).not.toBe(before.manifest.dataset.sha256);
    expect(after.manifest.dataset.rows).toBe(before.manifest.dataset.rows + 1);
  });

  it('keeps the shards of identical bytes found under another name', async () => {
    const first = await ingestDataset(request, context);
    const copy = join(work, 'copy.jsonl');
    await copyFile(dataset, copy);

    const second = await ingestDataset({ ...request, datasetUri: copy }, context);

    expect(second.manifestPath).toBe(first.manifestPath);
    expect(logger.lines).toContain('same content already cached; keeping those shards');
  });

  it('runs one build for concurrent requests and leaves no temporary folders', async () => {
    const outcomes = await Promise.all([1, 2, 3].map(() => ingestDataset(request, context)));

    expect(new Set(outcomes.map((o) => o.manifestPath)).size).toBe(1);
    expect(builds()).toBe(1);
    expect((await readdir(context.cacheDir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('detects a damaged shard by its checksum and rebuilds it', async () => {
    const first = await ingestDataset(request, context);
    const shard = join(dirname(first.manifestPath), 'train.tokens.i32');
    const file = await open(shard, 'r+');
    await file.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, 8); // same size, new bytes
    await file.close();

    const second = await ingestDataset(request, context);

    expect(second.cacheHit).toBe(false);
    expect(builds()).toBe(2);
    expect(logger.warnings).toContainEqual(
      expect.objectContaining({
        problem: expect.stringMatching(/train\.tokens\.i32 has sha256 .* manifest says/),
      }),
    );
    await expect(readShards(second.manifestPath)).resolves.toBeDefined();
  });

  it('still hits when a shard is only touched, after checking its checksum once', async () => {
    const first = await ingestDataset(request, context);
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dirname(first.manifestPath), 'validation.labels.i32'), later, later);

    const second = await ingestDataset(request, context);

    expect(second.cacheHit).toBe(true);
    expect(builds()).toBe(1);
  });
});
