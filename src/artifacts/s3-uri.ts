import { AutomatError, ErrorCodes } from '../errors/index.js';

export interface S3Location {
  bucket: string;
  /** Without a leading `/`; a trailing `/` marks a folder. */
  key: string;
}

export function formatS3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** Parses `s3://bucket/key`. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) {
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,
      `expected an s3://bucket/key URI, got ${JSON.stringify(uri)}`,
    );
  }
  return { bucket: match[1] as string, key: match[2] as string };
}
