import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BestMetricValue, ModelSettingsValue, TrainHparamsValue } from '../contracts/index.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { ModelState, NamedArray } from './model-state.js';

export const CHECKPOINT_FORMAT = 'automat0.checkpoint/v1';

/** What one epoch's checkpoint records besides the tensors. */
export interface CheckpointHeader {
  epoch: number;
  model: ModelSettingsValue;
  hparams: TrainHparamsValue;
  metrics: Record<string, number | null>;
  best_metric: BestMetricValue;
}

interface TensorEntry {
  group: 'weights' | 'optimizer';
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  file: string;
  byte_offset: number;
  byte_length: number;
}

/** Size and sha256 of one binary file beside checkpoint.json. */
interface FileEntry {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * checkpoint.json, the checkpoint's manifest: epoch, metrics and best metric, the model and
 * hparams it was trained with, where each tensor lies, and the size and checksum of every file.
 */
interface CheckpointFile extends CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  created_at: string;
  /** Absent only in checkpoints written before checksums were recorded. */
  files?: FileEntry[];
  tensors: TensorEntry[];
}

export interface WrittenCheckpoint {
  /** Absolute folder `checkpoint_dir/epoch-<n>`. */
  path: string;
  /** Bytes of every file in it. */
  bytes: number;
}

/**
 * Writes `checkpoint_dir/epoch-<n>/` holding checkpoint.json (the manifest), weights.bin (model
 * tensors, raw little-endian) and optimizer.bin (Adam's step count and moments). Files go to a
 * staging folder first and are renamed into place, so a crash never leaves a half-written epoch
 * folder.
 */
export async function writeCheckpoint(
  checkpointDir: string,
  header: CheckpointHeader,
  state: ModelState,
): Promise<WrittenCheckpoint> {
  const path = resolve(checkpointDir, `epoch-${header.epoch}`);
  const staging = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const weights = pack('weights', 'weights.bin', state.weights);
  const optimizer = pack('optimizer', 'optimizer.bin', state.optimizer);
  const file: CheckpointFile = {
    format: CHECKPOINT_FORMAT,
    created_at: new Date().toISOString(),
    ...header,
    files: [describe('weights.bin', weights.bytes), describe('optimizer.bin', optimizer.bytes)],
    tensors: [...weights.entries, ...optimizer.entries],
  };
  const json = Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
  await writeFile(join(staging, 'weights.bin'), weights.bytes);
  await writeFile(join(staging, 'optimizer.bin'), optimizer.bytes);
  await writeFile(join(staging, 'checkpoint.json'), json);
  // A folder from an earlier attempt at the same epoch is replaced, not merged.
  await rm(path, { recursive: true, force: true });
  await rename(staging, path);
  return { path, bytes: weights.bytes.length + optimizer.bytes.length + json.length };
}

/**
 * Reads a folder written by `writeCheckpoint`, checking each file's size and sha256 against the
 * manifest; AUTOMAT_E_ARTIFACT_NOT_FOUND when it is not one or a file does not match.
 */
export async function readCheckpoint(
  path: string,
): Promise<{ header: CheckpointHeader; state: ModelState }> {
  let file: CheckpointFile;
  try {
    file = JSON.parse(await readFile(join(path, 'checkpoint.json'), 'utf8')) as CheckpointFile;
  } catch (error) {
    throw new AutomatError(
      ErrorCodes.ARTIFACT_NOT_FOUND,
      `resume_from ${JSON.stringify(path)} holds no readable checkpoint.json`,
      { cause: error },
    );
  }
  if (file.format !== CHECKPOINT_FORMAT) {
    throw new AutomatError(
      ErrorCodes.ARTIFACT_NOT_FOUND,
      `resume_from ${JSON.stringify(path)} has format ${JSON.stringify(file.format)}, ` +
        `expected ${CHECKPOINT_FORMAT}`,
    );
  }
  const blobs = new Map<string, Buffer>();
  for (const name of new Set(file.tensors.map((t) => t.file))) {
    const blob = await readFile(join(path, basename(name))).catch((error: unknown) => {
      throw new AutomatError(ErrorCodes.ARTIFACT_NOT_FOUND, `checkpoint file ${name} is missing`, {
        cause: error,
      });
    });
    verify(path, name, blob, file.files);
    blobs.set(name, blob);
  }
  const unpack = (group: TensorEntry['group']): NamedArray[] =>
    file.tensors.filter((t) => t.group === group).map((t) => toArray(t, blobs.get(t.file)));
  const { epoch, model, hparams, metrics, best_metric } = file;
  return {
    header: { epoch, model, hparams, metrics, best_metric },
    state: { weights: unpack('weights'), optimizer: unpack('optimizer') },
  };
}

function describe(file: string, bytes: Buffer): FileEntry {
  return { file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A listed file must match its size and checksum; older checkpoints without a list pass. */
function verify(path: string, name: string, blob: Buffer, files: FileEntry[] | undefined): void {
  if (files === undefined) return;
  const entry = files.find((f) => f.file === name);
  const actual = describe(name, blob);
  if (entry?.bytes === actual.bytes && entry.sha256 === actual.sha256) return;
  throw new AutomatError(
    ErrorCodes.ARTIFACT_NOT_FOUND,
    `checkpoint ${JSON.stringify(path)}: ${name} holds ${actual.bytes} bytes with sha256 ` +
      `${actual.sha256}; the manifest says ${entry ? `${entry.bytes} bytes, ${entry.sha256}` : 'nothing'}`,
  );
}

function pack(
  group: TensorEntry['group'],
  file: string,
  arrays: NamedArray[],
): { entries: TensorEntry[]; bytes: Buffer } {
  let offset = 0;
  const entries = arrays.map((array): TensorEntry => {
    const entry: TensorEntry = {
      group,
      name: array.name,
      dtype: array.values instanceof Int32Array ? 'int32' : 'float32',
      shape: array.shape,
      file,
      byte_offset: offset,
      byte_length: array.values.byteLength,
    };
    offset += array.values.byteLength;
    return entry;
  });
  const bytes = Buffer.concat(
    arrays.map((a) => Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength)),
  );
  return { entries, bytes };
}

function toArray(entry: TensorEntry, blob: Buffer | undefined): NamedArray {
  if (blob === undefined || entry.byte_offset + entry.byte_length > blob.length) {
    throw new AutomatError(
      ErrorCodes.ARTIFACT_NOT_FOUND,
      `checkpoint tensor ${entry.name} lies outside ${entry.file}`,
    );
  }
  // Copy into a fresh buffer: typed arrays need an aligned offset, a file Buffer may not have one.
  const bytes = new Uint8Array(
    blob.subarray(entry.byte_offset, entry.byte_offset + entry.byte_length),
  );
  const values =
    entry.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
  return { name: entry.name, shape: entry.shape, values };
}
