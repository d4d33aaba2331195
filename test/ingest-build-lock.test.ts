/**
 * The cross-process shard build lock: the lock itself, and two real processes asking for the
 * same shards on one cache folder at once.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { BuildLock } from '../src/ingest/build-lock.js';
import { silentLogger, type Logger } from '../src/log/logger.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';

const run = promisify(execFile);
let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'automat-build-lock-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
  return { ...logger, child: () => logger, warnings };
}

describe('BuildLock', () => {
  it('creates a lock file naming its holder and removes it once, however often released', async () => {
    const path = join(work, 'locks', 'k.lock');

    const { lock, waited } = await BuildLock.acquire(path, { logger: silentLogger });

    expect(waited).toBe(false);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await Promise.all([lock.release(), lock.release()]);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('makes a second taker wait, kept out by the heartbeat past the stale age, until release', async () => {
    const path = join(work, 'k.lock');
    const options = { logger: silentLogger, staleMs: 300, pollMs: 20 };
    const first = await BuildLock.acquire(path, options);
    let secondHasIt = false;

    const second = BuildLock.acquire(path, options).then((taken) => {
      secondHasIt = true;
      return taken;
    });
    await new Promise((r) => setTimeout(r, 900));
    expect(secondHasIt).toBe(false);
    await first.lock.release();

    const taken = await second;
    expect(taken.waited).toBe(true);
    await taken.lock.release();
  });

  it('takes over a lock nobody touched for longer than the stale age, warning', async () => {
    const path = join(work, 'k.lock');
    await writeFile(path, JSON.stringify({ pid: 999999, host: 'gone' }));
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(path, minuteAgo, minuteAgo);
    const logger = recordingLogger();

    const { lock } = await BuildLock.acquire(path, { logger, staleMs: 1000, pollMs: 20 });

    expect(logger.warnings).toEqual(['shard build lock abandoned; taking it over']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  // Found by a newcomer: `ingest` killed with SIGKILL and run again waited the whole stale age.
  it('takes over at once a fresh lock whose holder on this host is gone', async () => {
    const path = join(work, 'k.lock');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    await writeFile(path, JSON.stringify({ pid: dead, host: hostname() }));
    const logger = recordingLogger();
    const started = Date.now();

    const { lock, waited } = await BuildLock.acquire(path, { logger, staleMs: 60_000 });

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(waited).toBe(false);
    expect(logger.warnings).toEqual(['shard build lock abandoned; taking it over']);
    await lock.release();
  });

  it('keeps waiting for a fresh lock whose holder on this host is alive', async () => {
    const path = join(work, 'k.lock');
    await writeFile(path, JSON.stringify({ pid: process.ppid, host: hostname() }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);

    await expect(
      BuildLock.acquire(path, { logger: silentLogger, signal: controller.signal, pollMs: 20 }),
    ).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
  });

  it('stops waiting with CANCELLED when the signal aborts', async () => {
    const path = join(work, 'k.lock');
    const held = await BuildLock.acquire(path, { logger: silentLogger });
    const controller = new AbortController();

    const waiting = BuildLock.acquire(path, { logger: silentLogger, signal: controller.signal });
    controller.abort(new Error('trial cancelled'));

    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
    await held.lock.release();
  });
});

/** One process that ingests the dataset and prints when it started and ended, and how. */
const CHILD = `
const { ingestDataset } = await import(process.argv[1] + '/dist/src/ingest/ingest-dataset.js');
const { IngestPool } = await import(process.argv[1] + '/dist/src/ingest/ingest-pool.js');
const { silentLogger } = await import(process.argv[1] + '/dist/src/log/logger.js');
const pool = new IngestPool({ threads: 1 });
const started = Date.now();
const outcome = await ingestDataset(
  { datasetUri: process.argv[2], tokenizerRef: 'llama2', seqLen: 64, taskType: 'classification' },
  { pool, cacheDir: process.argv[3], logger: silentLogger },
);
await pool.close();
console.log(JSON.stringify({ started, ended: Date.now(), source: outcome.source }));
`;

describe('two processes asking for the same shards at once', () => {
  it('build them once: the second waits and takes the first one’s shards', async () => {
    const dataset = join(work, 'shared.jsonl');
    await writeSyntheticDataset(dataset, { rows: 40_000, wordsPerLine: 40 });
    const cache = join(work, 'cache');
    const child = () =>
      run(process.execPath, ['--input-type=module', '-e', CHILD, resolve('.'), dataset, cache]);

    const outputs = await Promise.all([child(), child()]);

    const runs = outputs.map(
      ({ stdout }) => JSON.parse(stdout) as { started: number; ended: number; source: string },
    );
    // Which process wins the lock is a race; what matters is that exactly one builds.
    expect(runs.map((r) => r.source).sort()).toEqual(['built', 'local']);
    const builder = runs.find((r) => r.source === 'built')!;
    const waiter = runs.find((r) => r.source === 'local')!;
    // They overlapped: without the lock both would have built.
    expect(waiter.started).toBeLessThan(builder.ended);
  }, 60_000);
});
