import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AutomatError, ErrorCodes } from '../errors/index.js';

/** One accepted line of a JSON Lines dataset. */
export interface JsonlRecord {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  /** The label as a string (numbers are accepted and converted); null when not required. */
  label: string | null;
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface JsonlReport {
  path: string;
  /** Lines read, blank ones included. */
  lines: number;
  records: number;
  badLines: number;
  /** The first few bad lines, in file order. */
  firstBad: BadLine[];
}

export interface JsonlSourceOptions {
  /** Classification needs a `label` on every line; generation reads `text` only. */
  requireLabel: boolean;
  /** How many bad lines keep their reason for error messages. Default 5. */
  keepBadSamples?: number;
}

/**
 * Streams `{"text": ..., "label": ...}` lines from a local file, one line at a time, so the file
 * is never held in memory. Bad lines are skipped and counted; blank lines are ignored.
 * Iterate once, then read `report` or call `assertUsable`.
 */
export class JsonlSource implements AsyncIterable<JsonlRecord> {
  readonly #requireLabel: boolean;
  readonly #keepBadSamples: number;
  readonly #report: JsonlReport;

  constructor(
    readonly path: string,
    options: JsonlSourceOptions,
  ) {
    this.#requireLabel = options.requireLabel;
    this.#keepBadSamples = options.keepBadSamples ?? 5;
    this.#report = { path, lines: 0, records: 0, badLines: 0, firstBad: [] };
  }

  get report(): Readonly<JsonlReport> {
    return this.#report;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<JsonlRecord> {
    const input = createReadStream(this.path, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const raw of lines) {
        this.#report.lines += 1;
        const record = this.#parse(raw, this.#report.lines);
        if (record !== null) yield record;
      }
    } catch (error) {
      throw this.#translateReadError(error);
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /**
   * Throws DATASET_INVALID when no line was usable, or when more than `maxBadFraction` of the
   * non-blank lines were bad; the message names the file, the counts and the first bad lines.
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

  #parse(raw: string, line: number): JsonlRecord | null {
    // A UTF-8 byte order mark is legal at the start of a file and means nothing.
    const trimmed = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (trimmed === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      return this.#bad(line, `not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.#bad(line, 'expected a JSON object');
    }
    const { text, label } = value as { text?: unknown; label?: unknown };
    if (typeof text !== 'string') return this.#bad(line, '"text" must be a string');
    if (text.trim() === '') return this.#bad(line, '"text" is empty');
    if (!this.#requireLabel) return this.#accept({ line, text, label: null });
    if (typeof label === 'number' && Number.isFinite(label)) {
      return this.#accept({ line, text, label: String(label) });
    }
    if (typeof label !== 'string') return this.#bad(line, '"label" must be a string or number');
    if (label.trim() === '') return this.#bad(line, '"label" is empty');
    return this.#accept({ line, text, label });
  }

  #accept(record: JsonlRecord): JsonlRecord {
    this.#report.records += 1;
    return record;
  }

  #bad(line: number, reason: string): null {
    this.#report.badLines += 1;
    if (this.#report.firstBad.length < this.#keepBadSamples) {
      this.#report.firstBad.push({ line, reason });
    }
    return null;
  }

  #samples(): string {
    const { firstBad } = this.#report;
    if (firstBad.length === 0) return '';
    return `; first bad: ${firstBad.map((b) => `line ${b.line}: ${b.reason}`).join('; ')}`;
  }

  #translateReadError(error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return new AutomatError(ErrorCodes.DATASET_NOT_FOUND, `dataset ${this.path} not found`, {
        cause: error,
      });
    }
    if (code === 'EISDIR' || code === 'EACCES') {
      return new AutomatError(
        ErrorCodes.DATASET_INVALID,
        `dataset ${this.path} cannot be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return error;
  }
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 2 : 1)}%`;
}
