import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ListedFile {
  /** Path below the listed folder, `/`-separated whatever the platform. */
  relative: string;
  absolute: string;
  bytes: number;
}

/**
 * Every regular file below `dir`, sorted by relative path. Symbolic links are skipped: a
 * checkpoint folder holds plain files, and following links could upload far more than meant.
 */
export async function listFiles(dir: string, relative = ''): Promise<ListedFile[]> {
  const entries = await readdir(join(dir, relative), { withFileTypes: true });
  const files: ListedFile[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) {
      const absolute = join(dir, rel);
      files.push({ relative: rel, absolute, bytes: (await stat(absolute)).size });
    }
  }
  return files;
}

/** Runs `task` over `items` with at most `limit` running at once; rejects on the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
