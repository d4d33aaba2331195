import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { S3ArtifactStore } from '../artifacts/s3-artifact-store.js';
import type { Logger } from '../log/logger.js';
import {
  indexFileName,
  type CachedShards,
  type DatasetFingerprint,
  type ShardCache,
} from './shard-cache.js';
import type { ShardManifest, ShardSplit } from './shard-manifest.js';
import { readManifest, verifyShardFiles } from './shard-reader.js';
import { StagedShards, type ManifestHeader } from './shard-writer.js';
import type { IngestS3Options, S3Objects } from './sources/s3-objects.js';

/**
 * A second tier of the shard cache in S3, shared by every executor on the bucket:
 * `<prefix>/shards/<key>/…` mirrors a local cache folder and `<prefix>/shards/index/…` the
 * dataset fingerprints. Shard files are uploaded before their manifest, so a reader that finds
 * the manifest finds the files; downloads are verified by checksum before they are published.
 */
export class S3ShardMirror {
  readonly #store: ArtifactStore;
  readonly #objects: S3Objects;
  readonly #base: string;
  readonly #log: Logger;

  constructor(options: IngestS3Options, objects: S3Objects, logger: Logger) {
    const prefix = [options.prefix, 'shards'].filter((part) => part !== '').join('/');
    this.#store = new S3ArtifactStore({ ...options, prefix, logger });
    this.#objects = objects;
    this.#base = `s3://${options.bucket}/${prefix}`;
    this.#log = logger.child({ component: 's3-shard-mirror' });
  }

  /** Downloads `key` into the local cache; null when S3 has no complete, intact copy. */
  async fetch(key: string, cache: ShardCache): Promise<CachedShards | null> {
    const manifestUri = `${this.#base}/${key}/manifest.json`;
    if ((await this.#objects.head(manifestUri)) === undefined) return null;
    const staged = await StagedShards.create(cache.root);
    try {
      const remotePath = join(staged.folder, 'remote-manifest.json');
      await this.#objects.download(manifestUri, remotePath);
      const manifest = await readManifest(remotePath);
      await rm(remotePath);
      const splits = manifest.splits;
      for (const file of [splits.train, splits.validation].flatMap(filesOf)) {
        await this.#objects.download(`${this.#base}/${key}/${file}`, join(staged.folder, file));
      }
      const problem = await verifyShardFiles(staged.folder, manifest);
      if (problem !== null) {
        this.#log.warn('S3 shard copy damaged; ignoring it', { key, problem });
        return null;
      }
      const header = headerOf(manifest);
      const written = await staged.publish(
        cache.dirOf(key),
        header,
        splits,
        new Date(manifest.created_at),
      );
      return { manifestPath: written.manifestPath, manifest: written.manifest };
    } finally {
      await staged.discard();
    }
  }

  /** Uploads a published local shard folder; the manifest goes last. */
  async push(key: string, dir: string, manifest: ShardManifest): Promise<void> {
    const { train, validation } = manifest.splits;
    for (const file of [train, validation].flatMap(filesOf)) {
      await this.#store.putFile(`${key}/${file}`, join(dir, file));
    }
    await this.#store.putFile(`${key}/manifest.json`, join(dir, 'manifest.json'));
  }

  async fingerprint(identity: string): Promise<string | undefined> {
    const uri = `${this.#base}/index/${indexFileName(identity)}`;
    if ((await this.#objects.head(uri)) === undefined) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.#objects.open(uri)) chunks.push(chunk as Buffer);
    const entry = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<DatasetFingerprint>;
    return entry.identity === identity && typeof entry.sha256 === 'string'
      ? entry.sha256
      : undefined;
  }

  /** Uploads a fingerprint file that ShardCache.remember wrote. */
  async remember(entry: DatasetFingerprint, localPath: string): Promise<void> {
    await this.#store.putFile(`index/${indexFileName(entry.identity)}`, localPath);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

function filesOf(split: ShardSplit): string[] {
  return [split.tokens, split.labels, split.lengths].flatMap((f) => (f ? [f.file] : []));
}

/** The manifest without the fields StagedShards.publish fills in itself. */
function headerOf(manifest: ShardManifest): ManifestHeader {
  const own = new Set(['format', 'splits', 'created_at']);
  return Object.fromEntries(
    Object.entries(manifest).filter(([field]) => !own.has(field)),
  ) as ManifestHeader;
}
