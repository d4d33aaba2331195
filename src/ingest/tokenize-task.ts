/**
 * The piscina worker module: runs inside each ingest thread, never on the main thread. Its
 * compiled form (dist/src/ingest/tokenize-task.js) is what IngestPool points piscina at.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { serializeError, type SerializedError } from '../errors/index.js';
import { encodeHeads } from './encode-text.js';
import type { TokenizerFiles } from './loaded-tokenizer.js';
import { openEncoder, type TokenEncoder, type TokenizerBackend } from './token-encoder.js';

/** One batch of texts to encode with one tokenizer. */
export interface TokenizeTask {
  ref: string;
  files: TokenizerFiles;
  /** The hash the main thread keyed on; a thread that reads different bytes refuses the task. */
  sha256: string;
  backend: TokenizerBackend;
  /** From LoadedTokenizer: allows encoding only a leading window of long texts. */
  wordBounded: boolean;
  texts: string[];
  /**
   * `padded`: each text becomes one row of `seqLen` ids, truncated or filled with `padId`.
   * `ragged`: every id of each text followed by `eosId` (when not null), rows concatenated.
   */
  layout:
    { kind: 'padded'; seqLen: number; padId: number } | { kind: 'ragged'; eosId: number | null };
}

export interface TokenizeOutput {
  /** `padded`: texts × seqLen ids. `ragged`: all ids back to back. */
  ids: Int32Array;
  /** Real (unpadded) ids per text, the end-of-sequence mark included. */
  lengths: Int32Array;
  /** Texts that had more tokens than `seqLen` (always 0 for `ragged`). */
  truncated: number;
}

/** What IngestPool gives every thread (piscina's `workerData`). */
export interface TokenizeThreadData {
  pieceCache: boolean;
}

const thread = (workerData as TokenizeThreadData | undefined) ?? { pieceCache: true };

/** Errors come back as data so their stable code survives the thread boundary. */
export type TokenizeReply =
  { ok: true; output: TokenizeOutput } | { ok: false; error: SerializedError };

// One built tokenizer per (backend, hash) per thread: building llama2 takes ~0.35 s.
const encoders = new Map<string, Promise<TokenEncoder>>();

function encoderFor(task: TokenizeTask): Promise<TokenEncoder> {
  const key = `${task.backend}:${task.sha256}`;
  let loading = encoders.get(key);
  if (loading === undefined) {
    loading = openEncoder(task.ref, task.backend, task.files, task.sha256, {
      pieceCache: thread.pieceCache,
    });
    encoders.set(key, loading);
    // A failed load is not kept, so a later task retries instead of repeating the old error.
    loading.catch(() => encoders.delete(key));
  }
  return loading;
}

async function encodePadded(
  encoder: TokenEncoder,
  task: TokenizeTask,
  seqLen: number,
  padId: number,
): Promise<TokenizeOutput> {
  const heads = await encodeHeads(encoder, task.wordBounded, task.texts, seqLen);
  const ids = new Int32Array(heads.length * seqLen).fill(padId);
  const lengths = new Int32Array(heads.length);
  let truncated = 0;
  heads.forEach((head, row) => {
    ids.set(head.ids, row * seqLen);
    lengths[row] = head.ids.length;
    if (head.truncated) truncated += 1;
  });
  return { ids, lengths, truncated };
}

async function encodeRagged(
  encoder: TokenEncoder,
  texts: string[],
  eosId: number | null,
): Promise<TokenizeOutput> {
  const rows = await encoder.encodeBatch(texts);
  const mark = eosId === null ? 0 : 1;
  const lengths = Int32Array.from(rows, (row) => row.length + mark);
  const ids = new Int32Array(lengths.reduce((sum, n) => sum + n, 0));
  let offset = 0;
  for (const row of rows) {
    ids.set(row, offset);
    offset += row.length;
    if (eosId !== null) ids[offset++] = eosId;
  }
  return { ids, lengths, truncated: 0 };
}

/** Wraps the reply so piscina transfers both buffers instead of copying them. */
function transfer(reply: TokenizeReply): unknown {
  const buffers = reply.ok ? [reply.output.ids.buffer, reply.output.lengths.buffer] : [];
  return move({ [transferableSymbol]: buffers, [valueSymbol]: reply });
}

async function tokenize(task: TokenizeTask): Promise<unknown> {
  try {
    const encoder = await encoderFor(task);
    const output =
      task.layout.kind === 'padded'
        ? await encodePadded(encoder, task, task.layout.seqLen, task.layout.padId)
        : await encodeRagged(encoder, task.texts, task.layout.eosId);
    return transfer({ ok: true, output });
  } catch (error) {
    return transfer({ ok: false, error: serializeError(error) });
  }
}

// The pool hands each thread a second batch while its first runs (see IngestPool), so the thread
// goes straight on to it instead of waiting for the main thread to dispatch one. Batches still
// run one at a time: a thread keeps one encode in flight, so N threads use N cores, not more.
let previous: Promise<unknown> = Promise.resolve();

export default function tokenizeTask(task: TokenizeTask): Promise<unknown> {
  const result = previous.then(() => tokenize(task));
  previous = result;
  return result;
}
