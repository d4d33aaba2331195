/**
 * `automat0 ingest`, run as a user runs it: the built CLI in a child process, on a fixture, with
 * its own work folder (so its own shard cache).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DATASET = resolve('test/fixtures/ingest/classification.jsonl');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'automat-cli-ingest-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function ingest(...args: string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AUTOMAT_WORK_DIR: work,
    AUTOMAT_LOG_LEVEL: 'error',
  };
  delete env['AUTOMAT_S3_ENDPOINT'];
  const argv = ['dist/src/cli/main.js', 'ingest', DATASET, '--tokenizer', 'llama2', ...args];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('automat0 ingest', () => {
  it('builds shards once, then answers the same request from the cache', async () => {
    const built = await ingest('--seq-len', '32', '--threads', '1');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^built in [\d.]+ s: .*manifest\.json/);
    expect(built.stdout).toContain('labels ham, spam');

    const again = await ingest('--seq-len', '32', '--threads', '1', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ cacheHit: true, source: 'local' });
  }, 60_000);

  it.each([
    [['--seq-len', '1e2'], '--seq-len must be a number in decimal notation such as 256, got "1e2"'],
    [
      ['--seq-len', '0x100'],
      '--seq-len must be a number in decimal notation such as 256, got "0x100"',
    ],
    [
      ['--seq-len', '32', '--val-fraction', '1/5'],
      '--val-fraction must be a number in decimal notation such as 0.2, got "1/5"',
    ],
    [['--seq-len', '4'], '--seq-len must be an integer between 8 and 8192, got 4'],
    [
      ['--seq-len', '32', '--val-fraction', '0.9'],
      '--val-fraction must be a number greater than 0 and at most 0.5, got 0.9',
    ],
    [
      ['--seq-len', '32', '--seed', String(2 ** 31)],
      '--seed must be a non-negative 31-bit integer, got 2147483648',
    ],
    [['--seq-len', '32', '--threads', '1.5'], '--threads must be an integer between 1 and'],
  ])('refuses %j, naming the option: %s', async (args, message) => {
    const result = await ingest(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
