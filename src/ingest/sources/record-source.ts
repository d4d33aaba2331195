import { AutomatError, ErrorCodes } from '../../errors/index.js';
import { ByteTally, MAX_LINE_BYTES, readLines, type Line } from './byte-lines.js';
import type { ByteSource } from './byte-source.js';
import type { DatasetFormat } from './dataset-uri.js';
import { printable } from '../../log/printable.js';
import { parserFor, type DatasetRecord, type ParseContext } from './record-parsers.js';

export interface BadLine {
  line: number;
  reason: string;
}

export interface RecordReport {
  /** Dataset name used in messages: its path or URI. */
  path: string;
  /** Lines read, blank ones included. */
  lines: number;
  records: number;
  badLines: number;
  /** The first few bad lines, in file order. */
  firstBad: BadLine[];
}

export interface RecordSourceOptions {
  format: DatasetFormat;
  /** Classification needs a label on every record; generation reads text only. */
  requireLabel: boolean;
  /** Default `text`. */
  textField?: string;
  /** Default `label`. */
  labelField?: string;
  /** How many bad lines keep their reason for error messages. Default 5. */
  keepBadSamples?: number;
  /** A longer line is skipped as bad without being held in memory. Default 16 MiB. */
  maxLineBytes?: number;
  /** With `requireLabel`: more distinct labels than this fail the dataset. Default 1024. */
  maxLabels?: number;
  signal?: AbortSignal;
}

/**
 * Default bound on distinct labels. The classifier's output layer grows with their number, so a
 * label column of unique values (an id, a sentence) must fail at ingest, not in the worker.
 */
export const MAX_LABELS = 1024;

/**
 * Streams the records of a dataset in any format, compressed or not, from any byte source, one
 * line at a time, so the file is never held in memory. Bad lines are skipped and counted; blank
 * lines are ignored. While reading it also hashes the stored bytes, so one pass yields both the
 * records and the content hash. Iterate once, then read `report`, `sha256` or call `assertUsable`.
 */
export class RecordSource implements AsyncIterable<DatasetRecord> {
  readonly #source: ByteSource;
  readonly #options: RecordSourceOptions;
  readonly #report: RecordReport;
  readonly #tally = new ByteTally();
  readonly #maxLineBytes: number;
  readonly #labels = new Set<string>();
  #finished = false;

  constructor(source: ByteSource, options: RecordSourceOptions) {
    this.#source = source;
    this.#options = options;
    this.#maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.#report = { path: source.name, lines: 0, records: 0, badLines: 0, firstBad: [] };
  }

  get report(): Readonly<RecordReport> {
    return this.#report;
  }

  /** Stored bytes read so far (compressed bytes for gzip files). */
  get bytesRead(): number {
    return this.#tally.bytes;
  }

  /** Whether the stored bytes were gzip; known once reading started. */
  get gzip(): boolean {
    return this.#tally.gzip;
  }

  /** sha256 of the stored bytes; only once every record has been read. */
  get sha256(): string {
    if (!this.#finished) {
      throw new AutomatError(ErrorCodes.INTERNAL, 'dataset hash asked for before the end');
    }
    return this.#tally.sha256();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DatasetRecord> {
    const stream = await this.#source.open(this.#options.signal);
    const lines = readLines(stream, this.#tally, this.#maxLineBytes);
    const context = this.#context();
    const parse = parserFor(this.#options.format);
    try {
      for await (const record of parse(this.#countLines(lines, context), context)) {
        this.#report.records += 1;
        if (record.label !== null) this.#countLabel(record.line, record.label);
        yield record;
      }
      this.#finished = true;
    } catch (error) {
      throw this.#translateReadError(error);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Throws DATASET_INVALID when no record was usable, or when more than `maxBadFraction` of the
   * non-blank lines were bad; the message names the dataset, the counts and the first bad lines.
   */
  assertUsable(maxBadFraction: number): void {
    const { records, badLines, path } = this.#report;
    if (records === 0) {
      throw new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${path} has no usable lines (${this.#report.lines} read, ${badLines} bad)` +
          this.#samples(),
      );
    }
    const fraction = badLines / (records + badLines);
    if (fraction > maxBadFraction) {
      throw new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${path}: ${badLines} of ${records + badLines} lines are bad ` +
          `(${percent(fraction)}, more than the ${percent(maxBadFraction)} allowed)` +
          this.#samples(),
      );
    }
  }

  #countLabel(line: number, label: string): void {
    if (this.#labels.has(label)) return;
    const limit = this.#options.maxLabels ?? MAX_LABELS;
    if (this.#labels.size === limit) {
      const shown = label.length > 40 ? `${label.slice(0, 37)}...` : label;
      throw new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${this.#source.name}: line ${line} has label ${JSON.stringify(shown)}, ` +
          `one more than the ${limit} distinct labels a classification dataset may have`,
      );
    }
    this.#labels.add(label);
  }

  /** Counts the lines and takes overlong ones out as bad, so no parser sees them. */
  async *#countLines(lines: AsyncGenerator<Line>, context: ParseContext): AsyncGenerator<Line> {
    for await (const line of lines) {
      this.#report.lines += 1;
      if (line.overlongBytes === undefined) yield line;
      else {
        const { overlongBytes: bytes } = line;
        context.bad(line.number, `is ${bytes} bytes long, over the ${this.#maxLineBytes} allowed`);
      }
    }
  }

  #context(): ParseContext {
    const keep = this.#options.keepBadSamples ?? 5;
    return {
      name: this.#source.name,
      requireLabel: this.#options.requireLabel,
      textField: this.#options.textField ?? 'text',
      labelField: this.#options.labelField ?? 'label',
      bad: (line, reason, lines = 1) => {
        this.#report.badLines += lines;
        if (this.#report.firstBad.length < keep) {
          this.#report.firstBad.push({ line, reason: printable(reason) });
        }
      },
    };
  }

  #samples(): string {
    const { firstBad } = this.#report;
    if (firstBad.length === 0) return '';
    return `; first bad: ${firstBad.map((b) => `line ${b.line}: ${b.reason}`).join('; ')}`;
  }

  /** The one place where read failures of a dataset become Automat0 errors. */
  #translateReadError(error: unknown): unknown {
    if (error instanceof AutomatError) return error;
    const { name } = this.#source;
    const code = (error as NodeJS.ErrnoException).code;
    const message = (error as Error).message;
    if (code === 'ENOENT') {
      return new AutomatError(ErrorCodes.DATASET_NOT_FOUND, `dataset ${name} not found`, {
        cause: error,
      });
    }
    if (code === 'EISDIR' || code === 'EACCES') {
      return new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${name} cannot be read: ${message}`,
        {
          cause: error,
        },
      );
    }
    if (typeof code === 'string' && code.startsWith('Z_')) {
      const lines = this.#report.lines;
      const where = lines === 0 ? 'before its first complete line' : `after line ${lines}`;
      return new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${name} is damaged gzip ${where}: ${message}`,
        { cause: error },
      );
    }
    return error;
  }
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 2 : 1)}%`;
}
