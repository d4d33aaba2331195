import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AutomatError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { sha256Hex } from './cache-key.js';
import type { ShardManifest } from './shard-manifest.js';
import {
  findShardProblem,
  readManifest,
  settleShardTimes,
  verifyShardFiles,
} from './shard-reader.js';

export interface CachedShards {
  manifestPath: string;
  manifest: ShardManifest;
}

/** What the index remembers about a dataset seen before. */
export interface DatasetFingerprint {
  identity: string;
  sha256: string;
}

/**
 * The local, content-addressed shard cache: `<root>/<key>/` holds one published shard set, and
 * `<root>/index/` remembers each dataset's content hash by its identity (path, size, mtime,
 * inode; or S3 ETag), so a repeated request finds its shards without reading the corpus.
 */
export class ShardCache {
  readonly root: string;
  readonly #log: Logger;

  constructor(root: string, logger: Logger) {
    this.root = resolve(root);
    this.#log = logger;
  }

  dirOf(key: string): string {
    return join(this.root, key);
  }

  /**
   * The published shards for `key`, or null after removing anything unusable in their place.
   * Cheap when nothing changed (a few `stat` calls); a file newer than its manifest is checked
   * by checksum and the set rebuilt only if a checksum differs.
   */
  async lookup(key: string): Promise<CachedShards | null> {
    const dir = this.dirOf(key);
    const manifestPath = join(dir, 'manifest.json');
    let manifest: ShardManifest;
    try {
      manifest = await readManifest(manifestPath);
    } catch (error) {
      const code = ((error as AutomatError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== 'ENOENT') {
        this.#log.warn('shard cache entry unreadable; rebuilding', { dir, error: String(error) });
      }
      // Also clears a folder left without its manifest, which would block publishing new shards.
      await rm(dir, { recursive: true, force: true });
      return null;
    }
    const problem = manifest.key === key ? await this.#check(dir, manifest) : 'key mismatch';
    if (problem !== null) {
      this.#log.warn('shard cache entry damaged; rebuilding', { dir, problem });
      await rm(dir, { recursive: true, force: true });
      return null;
    }
    return { manifestPath, manifest };
  }

  /** The content hash remembered for a dataset identity, or undefined. */
  async fingerprint(identity: string): Promise<string | undefined> {
    try {
      const text = await readFile(this.indexPath(identity), 'utf8');
      const entry = JSON.parse(text) as Partial<DatasetFingerprint>;
      return entry.identity === identity && typeof entry.sha256 === 'string'
        ? entry.sha256
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes the fingerprint file (atomically) and returns its path. */
  async remember(entry: DatasetFingerprint): Promise<string> {
    const path = this.indexPath(entry.identity);
    await mkdir(join(this.root, 'index'), { recursive: true });
    const temporary = `${path}.${randomUUID()}.partial`;
    await writeFile(temporary, JSON.stringify(entry));
    await rename(temporary, path);
    return path;
  }

  async #check(dir: string, manifest: ShardManifest): Promise<string | null> {
    const quick = await findShardProblem(dir, manifest);
    if (quick === null || !quick.includes('modified after')) return quick;
    const problem = await verifyShardFiles(dir, manifest);
    if (problem !== null) return problem;
    // Touched but intact (e.g. copied): trust it again without hashing next time.
    await settleShardTimes(dir, manifest);
    return null;
  }

  indexPath(identity: string): string {
    return join(this.root, 'index', indexFileName(identity));
  }
}

/** File name of a dataset's fingerprint, locally and in the S3 mirror. */
export function indexFileName(identity: string): string {
  return `${sha256Hex(identity).slice(0, 40)}.json`;
}
