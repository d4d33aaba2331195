import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound, translateS3Error } from '../../artifacts/s3-errors.js';
import { parseS3Uri } from '../../artifacts/s3-uri.js';

/** Where ingest reads `s3://` datasets and tokenizers, and mirrors its shard cache. */
export interface IngestS3Options {
  /** E.g. `http://127.0.0.1:7480`; paths are always used (`forcePathStyle`). */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Bucket of the shard cache mirror; `s3://` URIs name their own bucket. */
  bucket: string;
  /** Key prefix of the shard cache mirror, e.g. `automat0`; shards go under `<prefix>/shards/`. */
  prefix: string;
}

export interface S3ObjectInfo {
  bytes: number;
  /** Changes whenever the object's bytes do. */
  etag: string;
}

/** Reads objects by `s3://bucket/key` URI. S3 errors are translated by artifacts/s3-errors.ts. */
export class S3Objects {
  readonly #client: S3Client;
  #closing: Promise<void> | undefined;

  constructor(options: IngestS3Options) {
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: options.credentials,
      forcePathStyle: true,
      // Ceph radosgw refuses aws-chunked uploads with trailing checksums (411), see
      // src/artifacts/s3-artifact-store.ts; reads use the same settings for symmetry.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Size and ETag of an object, or undefined when there is none. */
  async head(uri: string): Promise<S3ObjectInfo | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const reply = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { bytes: reply.ContentLength ?? 0, etag: reply.ETag ?? '' };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw translateS3Error(error, { operation: `head ${uri}` });
    }
  }

  /** The object's bytes as a stream, read as they are consumed. */
  async open(uri: string, signal?: AbortSignal): Promise<Readable> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const reply = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: signal,
      });
      return reply.Body as Readable;
    } catch (error) {
      throw translateS3Error(error, { operation: `read ${uri}` });
    }
  }

  /** Downloads to `localPath` under a temporary name, then renames, so no reader sees half. */
  async download(uri: string, localPath: string): Promise<void> {
    const body = await this.open(uri);
    const temporary = `${localPath}.${randomUUID()}.partial`;
    try {
      await mkdir(dirname(localPath), { recursive: true });
      await pipeline(body, createWriteStream(temporary));
      await rename(temporary, localPath);
    } catch (error) {
      body.destroy();
      await rm(temporary, { force: true });
      throw translateS3Error(error, { operation: `download ${uri} to ${localPath}` });
    }
  }

  /** Releases connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.resolve().then(() => this.#client.destroy());
    return this.#closing;
  }
}
