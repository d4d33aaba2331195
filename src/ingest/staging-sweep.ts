import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';

/** This host, as 8 hex digits: staging folders of other hosts sharing the cache are left alone. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `.staging-<pid>-<host tag>-<uuid>` */
const STAGING_NAME = /^\.staging-(\d+)-([0-9a-f]{8})-[0-9a-f]{8}-[0-9a-f]{4}-/;

/** The name of a new staging folder of this process. */
export function stagingName(uuid: string): string {
  return `.staging-${process.pid}-${HOST_TAG}-${uuid}`;
}

/** Folders already swept by this process. */
const swept = new Set<string>();

/**
 * Removes, once per process and folder, the staging folders in `parent` left by builds of this
 * host whose process is gone (killed mid-build: no `finally` ran). A folder of a live process,
 * or of another host sharing the cache, is kept; so is one whose process id was reused since,
 * which costs only its disk space until that process ends too.
 */
export async function sweepAbandonedStaging(parent: string, logger: Logger): Promise<void> {
  if (swept.has(parent)) return;
  swept.add(parent);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    const match = STAGING_NAME.exec(name);
    if (match === null || match[2] !== HOST_TAG) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true });
    logger.warn('removed the staging folder of a build whose process is gone', { name, pid });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
