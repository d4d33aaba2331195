import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { TaskTypeName } from '../../contracts/index.js';
import { loadConfig } from '../../config/config.js';
import { ValidationError } from '../../errors/index.js';
import { ShardService } from '../../executor/shard-service.js';
import type { IngestOutcome, IngestProgress } from '../../ingest/ingest-dataset.js';
import {
  resolveIngestRequest,
  type FieldNamer,
  type IngestRequest,
} from '../../ingest/ingest-request.js';
import type { TokenizerBackend } from '../../ingest/token-encoder.js';
import { createLogger } from '../../log/logger.js';

export interface IngestCommandOptions {
  tokenizer: string;
  seqLen: string;
  task: string;
  valFraction?: string;
  seed?: string;
  maxBadFraction?: string;
  threads?: string;
  backend: string;
  json?: boolean;
}

/**
 * `automat0 ingest <dataset_uri>`: prepares shards ahead of a search, into the same cache the
 * executor uses (`$AUTOMAT_WORK_DIR/shards`), so the search's trials start from a cache hit.
 * Progress goes to stderr; the result to stdout.
 */
export async function ingestCommand(datasetUri: string, options: IngestCommandOptions) {
  const config = loadConfig();
  const logger = createLogger({
    level: config.logLevel ?? 'warn',
    format: 'pretty',
  });
  const request = resolveIngestRequest(
    {
      datasetUri,
      tokenizerRef: options.tokenizer,
      seqLen: optionalNumber('--seq-len', options.seqLen) as number,
      taskType: options.task as TaskTypeName,
      tokenizerBackend: options.backend as TokenizerBackend,
      ...optional('valFraction', options.valFraction),
      ...optional('seed', options.seed),
      ...optional('maxBadFraction', options.maxBadFraction),
    },
    flagOf,
  );
  const threads = threadCount(options.threads) ?? config.ingestThreads;
  const service = new ShardService({
    cacheDir: join(config.workDir, 'shards'),
    logger,
    ...(threads ? { threads } : {}),
    ...(config.s3 ? { s3: config.s3 } : {}),
  });
  const controller = new AbortController();
  const interrupt = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  const bar = new ProgressBar();
  try {
    const outcome = await service.prepare(
      request,
      (progress) => bar.update(progress),
      controller.signal,
    );
    bar.done();
    console.log(options.json ? JSON.stringify(outcome, null, 2) : summary(datasetUri, outcome));
    return 0;
  } finally {
    bar.done();
    process.removeListener('SIGINT', interrupt);
    await service.close();
  }
}

/** Request fields whose option is not the field's name in kebab case. */
const OPTION_NAMES: Partial<Record<keyof IngestRequest, string>> = {
  datasetUri: '<dataset_uri>',
  tokenizerRef: '--tokenizer',
  tokenizerBackend: '--backend',
};

/** `seqLen` → `--seq-len`: errors name the option the user typed. */
const flagOf: FieldNamer = (field) =>
  OPTION_NAMES[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function optional(field: keyof IngestRequest, raw: string | undefined): Record<string, number> {
  const value = optionalNumber(flagOf(field), raw);
  return value === undefined ? {} : { [field]: value };
}

/** Tokenizing is CPU-bound: more threads than cores only cost memory. */
function threadCount(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const cores = availableParallelism();
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > cores) {
    throw new ValidationError('--threads', [
      `--threads must be an integer between 1 and ${cores} (this machine's cores), got ${JSON.stringify(raw)}`,
    ]);
  }
  return value;
}

/** Plain decimal notation only: `Number` would also take `1e2`, `0x100` and `Infinity`. */
const DECIMAL = /^-?(\d+(\.\d+)?|\.\d+)$/;

function optionalNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!DECIMAL.test(raw)) {
    const example = flag.endsWith('-fraction') ? '0.2' : '256';
    throw new ValidationError(flag, [
      `${flag} must be a number in decimal notation such as ${example}, got ${JSON.stringify(raw)}`,
    ]);
  }
  return Number(raw);
}

/** `requested`: the dataset as the user named it; cached shards may name a copy of its bytes. */
function summary(requested: string, outcome: IngestOutcome): string {
  const { manifest, stats } = outcome;
  const { dataset } = manifest;
  const copy = dataset.uri === requested ? '' : `, the same bytes as ${dataset.uri}`;
  const how = outcome.cacheHit ? `cache hit (${outcome.source})` : 'built';
  const speed = stats.ms > 0 ? Math.round(stats.tokens / (stats.ms / 1000)) : 0;
  return [
    `${how} in ${(stats.ms / 1000).toFixed(2)} s: ${outcome.manifestPath}`,
    `  dataset   ${requested} (${dataset.rows} rows, ${dataset.bad_lines} bad lines${copy})`,
    `  shards    train ${manifest.splits.train.rows} × ${manifest.seq_len}, validation ` +
      `${manifest.splits.validation.rows} × ${manifest.seq_len}` +
      (manifest.labels.length > 0 ? `, labels ${manifest.labels.join(', ')}` : '') +
      (manifest.task_type === 'generation' ? ' (blocks of seq_len + 1: inputs and targets)' : ''),
    outcome.cacheHit ? '' : `  tokens    ${stats.tokens} (${speed} tokens/s)`,
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** A one-line progress bar on stderr: bytes, lines and tokens per second. */
class ProgressBar {
  readonly #started = performance.now();
  readonly #tty = process.stderr.isTTY === true;
  #last = 0;
  #shown = false;

  update(progress: IngestProgress): void {
    const now = performance.now();
    if (now - this.#last < (this.#tty ? 100 : 5000)) return;
    this.#last = now;
    this.#shown = true;
    const seconds = (now - this.#started) / 1000;
    const fraction = progress.bytesTotal > 0 ? progress.bytesRead / progress.bytesTotal : 0;
    const filled = Math.round(Math.min(1, fraction) * 24);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ` +
      `${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${mb(progress.bytesRead)}/${mb(progress.bytesTotal)} MB  ${progress.lines} lines  ` +
      `${progress.badLines} bad  ${Math.round(progress.tokens / Math.max(seconds, 1e-3))} tokens/s`;
    process.stderr.write(this.#tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  done(): void {
    if (this.#shown && this.#tty) process.stderr.write('\n');
    this.#shown = false;
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
