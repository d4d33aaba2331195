import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutomatError, ErrorCodes } from '../errors/index.js';

export interface DatasetLocation {
  uri: string;
  /** Absolute local path. */
  path: string;
  bytes: number;
}

/**
 * Finds a dataset on local disk: a path (relative to the current directory) or a `file://` URI.
 * Other schemes are refused until a remote source exists.
 */
export async function locateDataset(uri: string): Promise<DatasetLocation> {
  const path = toPath(uri);
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw new AutomatError(
      ErrorCodes.DATASET_NOT_FOUND,
      `dataset_uri "${uri}": no file at ${path}`,
      { cause: error },
    );
  }
  if (!stats.isFile()) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset_uri "${uri}": ${path} is not a regular file; expected a JSON Lines file`,
    );
  }
  return { uri, path, bytes: stats.size };
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
        'use a local path or file:// URI',
    );
  }
  return resolve(uri);
}
