import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Logger } from '../log/logger.js';
import { joinKey, normalizeKey } from './artifact-key.js';
import type { ArtifactStore } from './artifact-store.js';
import { translateFsError } from './fs-errors.js';
import { forEachLimited, listFiles } from './list-files.js';
import {
  resolveS3ArtifactStoreOptions,
  type ResolvedS3ArtifactStoreOptions,
  type S3ArtifactStoreOptions,
} from './s3-artifact-store-options.js';
import { isS3NotFound, translateS3Error } from './s3-errors.js';
import { formatS3Uri, parseS3Uri } from './s3-uri.js';

/**
 * Artifacts in an S3-compatible store (Ceph radosgw, MinIO, AWS). Each file is one PutObject,
 * which S3 caps at 5 GiB per object; larger checkpoints would need multipart uploads, which this
 * store does not do yet.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly #client: S3Client;
  readonly #options: ResolvedS3ArtifactStoreOptions;
  readonly #log: Logger;
  #bucketReady: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: S3ArtifactStoreOptions) {
    this.#options = resolveS3ArtifactStoreOptions(options);
    this.#log = this.#options.logger.child({ component: 's3-artifacts', bucket: options.bucket });
    this.#client = new S3Client({
      endpoint: this.#options.endpoint,
      region: this.#options.region,
      credentials: this.#options.credentials,
      forcePathStyle: true,
      // Newer SDKs send a streamed body as aws-chunked with a trailing CRC checksum by default.
      // Ceph radosgw answered that with 411 MissingContentLength, so checksums go only where S3
      // requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async putFile(key: string, localPath: string): Promise<{ uri: string; bytes: number }> {
    const fullKey = joinKey(this.#options.prefix, normalizeKey(key, 'key'));
    const bytes = await this.#upload(fullKey, localPath);
    return { uri: formatS3Uri({ bucket: this.#options.bucket, key: fullKey }), bytes };
  }

  async putDirectory(
    keyPrefix: string,
    localDir: string,
  ): Promise<{ uri: string; bytes: number; files: number }> {
    const folder = joinKey(this.#options.prefix, normalizeKey(keyPrefix, 'keyPrefix'));
    const files = await listFiles(localDir).catch((error: unknown) => {
      throw translateFsError(error, `list ${localDir}`);
    });
    let bytes = 0;
    await forEachLimited(files, this.#options.concurrency, async (file) => {
      // Not `bytes += await …`: that reads `bytes` before the await and loses parallel sums.
      const uploaded = await this.#upload(joinKey(folder, file.relative), file.absolute);
      bytes += uploaded;
    });
    const uri = formatS3Uri({ bucket: this.#options.bucket, key: `${folder}/` });
    this.#log.debug('directory uploaded', { uri, files: files.length, bytes });
    return { uri, bytes, files: files.length };
  }

  async head(uri: string): Promise<{ bytes: number } | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    if (key.endsWith('/')) return this.#headFolder(bucket, key, uri);
    try {
      const reply = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { bytes: reply.ContentLength ?? 0 };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw translateS3Error(error, { operation: `head ${uri}` });
    }
  }

  async getFile(uri: string, localPath: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    let body: Readable;
    try {
      const reply = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      body = reply.Body as Readable;
    } catch (error) {
      throw translateS3Error(error, { operation: `download ${uri}` });
    }
    // Written under a temporary name and renamed, so a reader never sees half a file.
    const temporary = `${localPath}.${randomUUID()}.partial`;
    try {
      await mkdir(dirname(localPath), { recursive: true });
      await pipeline(body, createWriteStream(temporary));
      await rename(temporary, localPath);
    } catch (error) {
      body.destroy();
      await rm(temporary, { force: true });
      throw translateFsError(error, `write ${localPath} from ${uri}`);
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.resolve().then(() => this.#client.destroy());
    return this.#closing;
  }

  async #upload(key: string, localPath: string): Promise<number> {
    await this.#ensureBucket();
    const bytes = await stat(localPath).then(
      (info) => info.size,
      (error: unknown) => {
        throw translateFsError(error, `read ${localPath}`);
      },
    );
    const uri = formatS3Uri({ bucket: this.#options.bucket, key });
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#options.bucket,
          Key: key,
          Body: createReadStream(localPath),
          ContentLength: bytes,
        }),
      );
    } catch (error) {
      throw translateS3Error(error, { operation: `upload ${localPath} to ${uri}` });
    }
    return bytes;
  }

  async #headFolder(bucket: string, prefix: string, uri: string) {
    let bytes = 0;
    let objects = 0;
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) bytes += object.Size ?? 0;
        objects += page.Contents?.length ?? 0;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw translateS3Error(error, { operation: `list ${uri}` });
    }
    return objects === 0 ? undefined : { bytes };
  }

  /** Checks for the bucket once and creates it if missing; a failure is retried next time. */
  #ensureBucket(): Promise<void> {
    this.#bucketReady ??= this.#createBucketIfMissing().catch((error: unknown) => {
      this.#bucketReady = undefined;
      throw error;
    });
    return this.#bucketReady;
  }

  async #createBucketIfMissing(): Promise<void> {
    const Bucket = this.#options.bucket;
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket }));
      return;
    } catch (error) {
      if (!isS3NotFound(error)) {
        throw translateS3Error(error, { operation: `check bucket ${Bucket}` });
      }
    }
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket }));
      this.#log.info('bucket created', { bucket: Bucket });
    } catch (error) {
      // Another executor may have created it in the meantime. Ceph answers BucketAlreadyExists
      // even to the owner; if the bucket is someone else's, the first upload fails with 403.
      const name = (error as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw translateS3Error(error, { operation: `create bucket ${Bucket}` });
    }
  }
}
