/**
 * Staging folders left by a build killed mid-way (SIGKILL runs no cleanup) are removed by the
 * next build on the same host; those of live builds and of other hosts are kept.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { stagingName, sweepAbandonedStaging } from '../src/ingest/staging-sweep.js';

let parent: string;

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'automat-staging-sweep-'));
});

afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** The id of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

/** A staging folder as process `pid` of this host would have named it. */
function stagingOf(pid: number): string {
  return stagingName(randomUUID()).replace(`-${process.pid}-`, `-${pid}-`);
}

describe('sweepAbandonedStaging', () => {
  it('removes a dead build’s folder and keeps live, foreign and finished ones', async () => {
    const dead = stagingOf(await deadPid());
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    const alive = stagingOf(live.pid as number);
    const foreign = `.staging-${await deadPid()}-00000000-${randomUUID()}`;
    const mine = stagingName(randomUUID());
    try {
      for (const name of [dead, alive, foreign, mine, 'some-cache-key']) {
        await mkdir(join(parent, name));
        await writeFile(join(parent, name, 'train.tokens.i32'), 'x');
      }

      await sweepAbandonedStaging(parent, silentLogger);

      expect((await readdir(parent)).sort()).toEqual(
        [alive, foreign, mine, 'some-cache-key'].sort(),
      );
    } finally {
      live.kill();
    }
  });
});
