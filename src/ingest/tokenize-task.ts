/**
 * The piscina worker module: runs inside each ingest thread, never on the main thread. Its
 * compiled form (dist/src/ingest/tokenize-task.js) is what IngestPool points piscina at.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { AutomatError, ErrorCodes, serializeError, type SerializedError } from '../errors/index.js';
import { encodeAll, encodeHead } from './encode-text.js';
import { openTokenizer, type LoadedTokenizer, type TokenizerFiles } from './loaded-tokenizer.js';

/** One batch of texts to encode with one tokenizer. */
export interface TokenizeTask {
  ref: string;
  files: TokenizerFiles;
  /** The hash the main thread loaded; a thread that reads different bytes refuses the task. */
  sha256: string;
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

/** Errors come back as data so their stable code survives the thread boundary. */
export type TokenizeReply =
  { ok: true; output: TokenizeOutput } | { ok: false; error: SerializedError };

// One parsed tokenizer per hash per thread: parsing llama2's vocabulary takes ~0.3 s.
const tokenizers = new Map<string, Promise<LoadedTokenizer>>();

async function tokenizerFor(task: TokenizeTask): Promise<LoadedTokenizer> {
  let loading = tokenizers.get(task.sha256);
  if (loading === undefined) {
    loading = openTokenizer(task.ref, task.files);
    tokenizers.set(task.sha256, loading);
    // A failed load is not kept, so a later task retries instead of repeating the old error.
    loading.catch(() => tokenizers.delete(task.sha256));
  }
  const tokenizer = await loading;
  if (tokenizer.sha256 !== task.sha256) {
    tokenizers.delete(task.sha256);
    throw new AutomatError(
      ErrorCodes.TOKENIZER_INVALID,
      `tokenizer_ref "${task.ref}": ${task.files.tokenizerPath} changed on disk during ingest`,
    );
  }
  return tokenizer;
}

function encodePadded(tokenizer: LoadedTokenizer, texts: string[], seqLen: number, padId: number) {
  const ids = new Int32Array(texts.length * seqLen).fill(padId);
  const lengths = new Int32Array(texts.length);
  let truncated = 0;
  texts.forEach((text, row) => {
    const head = encodeHead(tokenizer, text, seqLen);
    ids.set(head.ids, row * seqLen);
    lengths[row] = head.ids.length;
    if (head.truncated) truncated += 1;
  });
  return { ids, lengths, truncated };
}

function encodeRagged(tokenizer: LoadedTokenizer, texts: string[], eosId: number | null) {
  const rows = texts.map((text) => {
    const ids = encodeAll(tokenizer, text);
    if (eosId !== null) ids.push(eosId);
    return ids;
  });
  const lengths = Int32Array.from(rows, (row) => row.length);
  const ids = new Int32Array(lengths.reduce((sum, n) => sum + n, 0));
  let offset = 0;
  for (const row of rows) {
    ids.set(row, offset);
    offset += row.length;
  }
  return { ids, lengths, truncated: 0 };
}

/** Wraps the reply so piscina transfers both buffers instead of copying them. */
function transfer(reply: TokenizeReply): unknown {
  const buffers = reply.ok ? [reply.output.ids.buffer, reply.output.lengths.buffer] : [];
  return move({ [transferableSymbol]: buffers, [valueSymbol]: reply });
}

export default async function tokenizeTask(task: TokenizeTask): Promise<unknown> {
  try {
    const tokenizer = await tokenizerFor(task);
    const output =
      task.layout.kind === 'padded'
        ? encodePadded(tokenizer, task.texts, task.layout.seqLen, task.layout.padId)
        : encodeRagged(tokenizer, task.texts, task.layout.eosId);
    return transfer({ ok: true, output });
  } catch (error) {
    return transfer({ ok: false, error: serializeError(error) });
  }
}
