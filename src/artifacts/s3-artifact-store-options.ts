import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { normalizeKey } from './artifact-key.js';

export interface S3ArtifactStoreOptions {
  /** E.g. `http://127.0.0.1:7480`. Paths are always used (`forcePathStyle`), so any S3 works. */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Created on first use when missing. */
  bucket: string;
  /** Key prefix for everything this store writes, e.g. `checkpoints`. Default none. */
  prefix?: string;
  logger: Logger;
  /** Files uploaded at once by putDirectory. Default 4. */
  concurrency?: number;
}

export interface ResolvedS3ArtifactStoreOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  prefix: string;
  logger: Logger;
  concurrency: number;
}

export function resolveS3ArtifactStoreOptions(
  options: S3ArtifactStoreOptions,
): ResolvedS3ArtifactStoreOptions {
  for (const field of ['endpoint', 'region', 'bucket'] as const) {
    if (typeof options[field] !== 'string' || options[field] === '') {
      throw invalid(`artifacts.${field} must be a non-empty string`);
    }
  }
  if (!/^https?:\/\//.test(options.endpoint)) {
    throw invalid(`artifacts.endpoint must be an http(s) URL, got ${options.endpoint}`);
  }
  const { accessKeyId, secretAccessKey } = options.credentials;
  if (!accessKeyId || !secretAccessKey) {
    throw invalid('artifacts.credentials needs accessKeyId and secretAccessKey');
  }
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw invalid(`artifacts.concurrency must be an integer of at least 1, got ${concurrency}`);
  }
  return {
    ...options,
    prefix: normalizeKey(options.prefix ?? '', 'artifacts.prefix', true),
    concurrency,
  };
}

function invalid(message: string): AutomatError {
  return new AutomatError(ErrorCodes.CONFIG_INVALID, message);
}
