import { SEQ_LEN_RANGE, type TaskTypeName } from '../contracts/index.js';
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

/** How a field is named in errors; the CLI names its options instead. */
export type FieldNamer = (field: keyof IngestRequest) => string;

const internalName: FieldNamer = (field) => `ingest.${field}`;

/** Applies defaults and checks ranges; throws ValidationError naming the field. */
export function resolveIngestRequest(
  request: IngestRequest,
  nameOf: FieldNamer = internalName,
): ResolvedIngestRequest {
  const resolved = {
    ...request,
    valFraction: request.valFraction ?? INGEST_DEFAULTS.valFraction,
    seed: request.seed ?? INGEST_DEFAULTS.seed,
    maxBadFraction: request.maxBadFraction ?? INGEST_DEFAULTS.maxBadFraction,
    tokenizerBackend: request.tokenizerBackend ?? INGEST_DEFAULTS.tokenizerBackend,
  };
  const { min, max } = SEQ_LEN_RANGE;
  const checks: Array<[keyof IngestRequest, boolean, string]> = [
    ['datasetUri', resolved.datasetUri.length > 0, 'a non-empty path'],
    ['tokenizerRef', resolved.tokenizerRef.length > 0, 'a non-empty ref'],
    [
      'seqLen',
      Number.isInteger(resolved.seqLen) && resolved.seqLen >= min && resolved.seqLen <= max,
      `an integer between ${min} and ${max}`,
    ],
    // The same ranges as a TrialSpec's hparams, so that shards prepared ahead serve trials.
    [
      'valFraction',
      resolved.valFraction > 0 && resolved.valFraction <= 0.5,
      'a number greater than 0 and at most 0.5',
    ],
    [
      'seed',
      Number.isInteger(resolved.seed) && resolved.seed >= 0 && resolved.seed < 2 ** 31,
      'a non-negative 31-bit integer',
    ],
    [
      'maxBadFraction',
      resolved.maxBadFraction >= 0 && resolved.maxBadFraction <= 1,
      'a number between 0 and 1',
    ],
    [
      'tokenizerBackend',
      TOKENIZER_BACKENDS.includes(resolved.tokenizerBackend),
      `one of ${TOKENIZER_BACKENDS.join(', ')}`,
    ],
  ];
  for (const [field, ok, expected] of checks) {
    check(nameOf(field), ok, expected, resolved[field]);
  }
  return resolved;
}

function check(field: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok)
    throw new ValidationError(field, [`${field} must be ${expected}, got ${JSON.stringify(got)}`]);
}
