import { mkdir, open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

export interface BuildLockOptions {
  signal?: AbortSignal;
  logger: Logger;
  /** A lock whose file was not touched for this long is taken as abandoned. Default 30 s. */
  staleMs?: number;
  /** How often a waiter looks again. Default 200 ms. */
  pollMs?: number;
}

/**
 * A lock file that lets one process build a shard set while others on the same cache folder
 * wait for it, so that executors sharing a cache never tokenize the same inputs at once. Within
 * one process SingleFlight already shares the build; this covers the processes around it.
 *
 * The holder touches the file every third of `staleMs`. A holder that died (SIGKILL, a lost
 * machine with the cache on shared storage) stops touching it, and after `staleMs` a waiter
 * removes the file and takes the lock. On the holder's own host a waiter also sees at once that
 * its process is gone (an `ingest` killed with SIGKILL and run again). A live process id only
 * falls back to the touch, so a reused PID or another host's process cannot keep a dead lock.
 */
export class BuildLock {
  readonly #path: string;
  readonly #heartbeat: NodeJS.Timeout;
  #released: Promise<void> | undefined;

  private constructor(path: string, staleMs: number) {
    this.#path = path;
    const touch = (): void => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    };
    this.#heartbeat = setInterval(touch, Math.max(1, Math.floor(staleMs / 3)));
    this.#heartbeat.unref();
  }

  /**
   * Takes the lock at `path`, waiting while a live holder has it; `waited` tells whether one
   * did. Rejects with CANCELLED when `signal` aborts.
   */
  static async acquire(
    path: string,
    options: BuildLockOptions,
  ): Promise<{ lock: BuildLock; waited: boolean }> {
    const staleMs = options.staleMs ?? 30_000;
    const pollMs = options.pollMs ?? 200;
    await mkdir(dirname(path), { recursive: true });
    let waited = false;
    for (;;) {
      if (await tryCreate(path)) return { lock: new BuildLock(path, staleMs), waited };
      const age = await ageOf(path);
      const holder = await holderOf(path);
      const dead = holderIsGone(holder);
      if (age !== null && (age > staleMs || dead)) {
        // Looked at again just before removing, so that a lock another waiter took over in the
        // meantime is left alone. The window left between the look and the removal is a few
        // microseconds; losing that race costs a second build, never torn shards (the writer
        // publishes by rename and the first set published wins).
        const again = await holderOf(path);
        const sameHolder = JSON.stringify(again) === JSON.stringify(holder);
        if (!sameHolder || (!dead && ((await ageOf(path)) ?? 0) <= staleMs)) continue;
        await rm(path, { force: true });
        options.logger.warn('shard build lock abandoned; taking it over', {
          path,
          ageMs: Math.round(age),
          holder,
          why: dead ? 'its process is gone' : 'not touched for too long',
        });
        continue;
      }
      if (!waited) {
        options.logger.info('waiting for another process building the same shards', {
          path,
          holder,
        });
      }
      waited = true;
      await sleep(pollMs, undefined, { signal: options.signal }).catch((error: unknown) => {
        throw new AutomatError(ErrorCodes.CANCELLED, 'ingest cancelled', {
          cause: options.signal?.reason ?? error,
        });
      });
    }
  }

  /** Removes the lock file. Idempotent: later calls return the first call's promise. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      clearInterval(this.#heartbeat);
      await rm(this.#path, { force: true });
    })();
    return this.#released;
  }
}

/** Creates the lock file exclusively; false when it already exists. */
async function tryCreate(path: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    await file.writeFile(`${JSON.stringify(holder)}\n`);
  } finally {
    await file.close();
  }
  return true;
}

/** Milliseconds since the lock file was last touched; null when it is gone. */
async function ageOf(path: string): Promise<number | null> {
  const info = await stat(path).catch(() => null);
  return info === null ? null : Date.now() - info.mtimeMs;
}

/** True when the holder ran on this host and its process no longer exists. */
function holderIsGone(holder: unknown): boolean {
  const { pid, host } = (holder ?? {}) as { pid?: unknown; host?: unknown };
  if (host !== hostname() || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** What the holder wrote into the lock file, for the log; null when unreadable. */
async function holderOf(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}
