import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { AutomatError, ErrorCodes } from '../../errors/index.js';
import type { S3Objects } from './s3-objects.js';

/** The bytes of a dataset file, wherever they are stored. */
export interface ByteSource {
  /** The location as given: a path, `file://` or `s3://` URI. */
  uri: string;
  /** What error messages call it: the absolute path, or the `s3://` URI. */
  name: string;
  bytes: number;
  /**
   * Changes whenever the bytes may have: path, size, modification time and inode locally; the
   * ETag in S3. The shard cache remembers content hashes by it, so hits never re-read a corpus.
   */
  identity: string;
  open(signal?: AbortSignal): Promise<Readable>;
  /** DATASET_INVALID when the bytes changed since this source was located. */
  assertUnchanged(): Promise<void>;
}

/** Finds a dataset: a local path (relative to the current directory), `file://` or `s3://`. */
export async function locateBytes(uri: string, s3: S3Objects | undefined): Promise<ByteSource> {
  if (uri.startsWith('s3://')) return locateS3(uri, s3);
  const path = toPath(uri);
  const identity = await localIdentity(uri, path);
  return {
    uri,
    name: path,
    bytes: identity.bytes,
    identity: identity.text,
    open: () => Promise.resolve(createReadStream(path, { highWaterMark: 1 << 20 })),
    assertUnchanged: async () => {
      if ((await localIdentity(uri, path)).text !== identity.text) {
        throw new AutomatError(
          ErrorCodes.DATASET_INVALID,
          `dataset ${path} changed while it was being read; ingest it again`,
        );
      }
    },
  };
}

async function localIdentity(uri: string, path: string): Promise<{ bytes: number; text: string }> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    // `data.jsonl#txt=body` is a path: only format=, text= and label= make a fragment options.
    const hint = path.includes('#')
      ? ' (a "#" is part of the path unless only format=, text= and label= options follow it)'
      : '';
    throw new AutomatError(
      ErrorCodes.DATASET_NOT_FOUND,
      `dataset_uri "${uri}": no file at ${path}${hint}`,
      { cause: error },
    );
  }
  if (!stats.isFile()) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset_uri "${uri}": ${path} is not a regular file`,
    );
  }
  return {
    bytes: stats.size,
    text: `file:${path}:${stats.size}:${stats.mtimeMs}:${stats.ino}`,
  };
}

async function locateS3(uri: string, s3: S3Objects | undefined): Promise<ByteSource> {
  if (s3 === undefined) {
    throw new AutomatError(
      ErrorCodes.DATASET_NOT_FOUND,
      `dataset_uri "${uri}": s3:// datasets need S3 settings (AUTOMAT_S3_ENDPOINT and credentials)`,
    );
  }
  const head = await s3.head(uri);
  if (head === undefined) {
    throw new AutomatError(ErrorCodes.DATASET_NOT_FOUND, `dataset_uri "${uri}": no such object`);
  }
  const identity = `s3:${uri}:${head.bytes}:${head.etag}`;
  return {
    uri,
    name: uri,
    bytes: head.bytes,
    identity,
    open: (signal) => s3.open(uri, signal),
    assertUnchanged: async () => {
      const now = await s3.head(uri);
      if (now === undefined || `s3:${uri}:${now.bytes}:${now.etag}` !== identity) {
        throw new AutomatError(
          ErrorCodes.DATASET_INVALID,
          `dataset ${uri} changed while it was being read; ingest it again`,
        );
      }
    },
  };
}

function toPath(uri: string): string {
  if (uri.startsWith('file://')) {
    try {
      return fileURLToPath(uri);
    } catch (error) {
      throw new AutomatError(
        ErrorCodes.DATASET_NOT_FOUND,
        `dataset_uri "${uri}" is not a valid file:// URI`,
        { cause: error },
      );
    }
  }
  // A letter pair before "://" is a scheme; single letters are Windows drive paths ("C:\...").
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(uri);
  if (scheme !== null) {
    throw new AutomatError(
      ErrorCodes.DATASET_NOT_FOUND,
      `dataset_uri "${uri}": scheme "${scheme[1]}" is not supported; ` +
        'use a local path, a file:// or an s3:// URI',
    );
  }
  return resolve(uri);
}
