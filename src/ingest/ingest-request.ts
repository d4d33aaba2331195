import type { TaskTypeName } from '../contracts/index.js';
import { ValidationError } from '../errors/index.js';
import { TOKENIZER_BACKENDS, type TokenizerBackend } from './token-encoder.js';

/** What to ingest. Field names match `IngestRequest` in src/trial/trial-ports.ts. */
export interface IngestRequest {
  /**
   * A local path, `file://` or `s3://` URI of a JSON Lines, CSV, TSV or text file, optionally
   * gzip-compressed, optionally followed by reading options: `#format=csv&text=body&label=y`.
   */
  datasetUri: string;
  /** A registry name (`llama2`), a path or `s3://` URI of a tokenizer.json (or its folder). */
  tokenizerRef: string;
  seqLen: number;
  taskType: TaskTypeName;
  /** Fraction of rows (per label) held out for validation. Default 0.2. */
  valFraction?: number;
  /** Seed of the train/validation split. Default 1337. */
  seed?: number;
  /** Largest tolerated fraction of bad lines before the dataset is refused. Default 0.01. */
  maxBadFraction?: number;
  /** Tokenizer implementation. Default `native`; both give the same ids. */
  tokenizerBackend?: TokenizerBackend;
}

/** An IngestRequest with every default applied and every field checked. */
export type ResolvedIngestRequest = Required<IngestRequest>;

export const INGEST_DEFAULTS = {
  valFraction: 0.2,
  seed: 1337,
  maxBadFraction: 0.01,
  tokenizerBackend: 'native',
} as const;

/** Applies defaults and checks ranges; throws ValidationError naming the field. */
export function resolveIngestRequest(request: IngestRequest): ResolvedIngestRequest {
  const resolved = {
    ...request,
    valFraction: request.valFraction ?? INGEST_DEFAULTS.valFraction,
    seed: request.seed ?? INGEST_DEFAULTS.seed,
    maxBadFraction: request.maxBadFraction ?? INGEST_DEFAULTS.maxBadFraction,
    tokenizerBackend: request.tokenizerBackend ?? INGEST_DEFAULTS.tokenizerBackend,
  };
  check(
    'ingest.datasetUri',
    resolved.datasetUri.length > 0,
    'a non-empty path',
    resolved.datasetUri,
  );
  check(
    'ingest.tokenizerRef',
    resolved.tokenizerRef.length > 0,
    'a non-empty ref',
    resolved.tokenizerRef,
  );
  check(
    'ingest.seqLen',
    Number.isInteger(resolved.seqLen) && resolved.seqLen >= 1,
    'a positive integer',
    resolved.seqLen,
  );
  check(
    'ingest.valFraction',
    resolved.valFraction > 0 && resolved.valFraction < 1,
    'a number between 0 and 1, exclusive',
    resolved.valFraction,
  );
  check(
    'ingest.seed',
    Number.isInteger(resolved.seed) && resolved.seed >= 0 && resolved.seed < 2 ** 32,
    'a non-negative 32-bit integer',
    resolved.seed,
  );
  check(
    'ingest.maxBadFraction',
    resolved.maxBadFraction >= 0 && resolved.maxBadFraction <= 1,
    'a number between 0 and 1',
    resolved.maxBadFraction,
  );
  check(
    'ingest.tokenizerBackend',
    TOKENIZER_BACKENDS.includes(resolved.tokenizerBackend),
    `one of ${TOKENIZER_BACKENDS.join(', ')}`,
    resolved.tokenizerBackend,
  );
  return resolved;
}

function check(field: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok)
    throw new ValidationError(field, [`${field} must be ${expected}, got ${JSON.stringify(got)}`]);
}
