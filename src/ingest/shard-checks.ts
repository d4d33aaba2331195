import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { ShardFile } from './shard-manifest.js';

/** SHARD_CORRUPT with `message`, which names the file. */
export function shardCorrupt(message: string, cause?: unknown): AutomatError {
  return new AutomatError(ErrorCodes.SHARD_CORRUPT, message, { cause });
}

/** SHARD_CORRUPT unless the file at `path` holds the bytes its manifest entry and shape say. */
export function checkShardSize(path: string, size: number, file: ShardFile): void {
  const expected = file.shape.reduce((a, b) => a * b, 1) * Int32Array.BYTES_PER_ELEMENT;
  if (size === file.bytes && size === expected) return;
  throw shardCorrupt(
    `${path} holds ${size} bytes; expected ${file.bytes} for shape [${file.shape.join(', ')}]`,
  );
}

/** SHARD_CORRUPT unless `sha256` is the one the manifest recorded for the file. */
export function checkShardHash(path: string, sha256: string, file: ShardFile): void {
  if (sha256 !== file.sha256) {
    throw shardCorrupt(`${path} has sha256 ${sha256}; manifest says ${file.sha256}`);
  }
}
