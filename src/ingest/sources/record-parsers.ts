import { AutomatError, ErrorCodes } from '../../errors/index.js';
import type { Line } from './byte-lines.js';
import { printable } from '../../log/printable.js';
import type { DatasetFormat } from './dataset-uri.js';

/** One example (classification) or document (generation) read from a dataset. */
export interface DatasetRecord {
  /** 1-based line number where the record starts. */
  line: number;
  text: string;
  /** The label as a string (numbers are converted); null when labels are not required. */
  label: string | null;
}

export interface ParseContext {
  /** Dataset name for whole-file errors. */
  name: string;
  requireLabel: boolean;
  textField: string;
  labelField: string;
  /** Counts and remembers a skipped line, or `lines` lines from `line` on (default 1). */
  bad(line: number, reason: string, lines?: number): void;
}

export type RecordParser = (
  lines: AsyncIterable<Line>,
  context: ParseContext,
) => AsyncGenerator<DatasetRecord>;

/** A CSV field or text document longer than this is refused, so one bad quote cannot eat RAM. */
const MAX_RECORD_CHARS = 8_000_000;

/** A label is a class name; a longer value is a misplaced column, so the line is bad. */
const MAX_LABEL_CHARS = 256;

/** Characters after which a plain-text document is cut (each part then ends with EOS). */
const MAX_DOCUMENT_CHARS = 1_000_000;

export function parserFor(format: DatasetFormat): RecordParser {
  if (format === 'jsonl') return parseJsonl;
  if (format === 'text') return parseText;
  return (lines, context) => parseDelimited(lines, context, format === 'csv' ? ',' : '\t');
}

/** Checks text and label values; returns the record, or null after reporting the line as bad. */
function makeRecord(
  context: ParseContext,
  line: number,
  text: unknown,
  label: unknown,
): DatasetRecord | null {
  const { textField: t, labelField: l } = context;
  if (typeof text !== 'string') return bad(context, line, `"${t}" must be a string`);
  if (text.trim() === '') return bad(context, line, `"${t}" is empty`);
  if (!context.requireLabel) return { line, text, label: null };
  if (typeof label === 'number' && Number.isFinite(label)) {
    return { line, text, label: String(label) };
  }
  if (label === undefined || label === null) return bad(context, line, `"${l}" is missing`);
  if (typeof label !== 'string') return bad(context, line, `"${l}" must be a string or number`);
  // `spam` and `spam ` (a CSV written `text, spam`) are one class.
  const name = label.trim();
  if (name === '') return bad(context, line, `"${l}" is empty`);
  if (name.length > MAX_LABEL_CHARS) {
    return bad(context, line, `"${l}" is longer than ${MAX_LABEL_CHARS} characters`);
  }
  return { line, text, label: name };
}

function bad(context: ParseContext, line: number, reason: string): null {
  context.bad(line, reason);
  return null;
}

async function* parseJsonl(
  lines: AsyncIterable<Line>,
  context: ParseContext,
): AsyncGenerator<DatasetRecord> {
  for await (const { number, text: raw } of lines) {
    // A UTF-8 byte order mark is legal at the start of a file and means nothing.
    const trimmed = (number === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (trimmed === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      context.bad(number, `not valid JSON (${(error as Error).message})`);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      context.bad(number, 'expected a JSON object');
      continue;
    }
    const fields = value as Record<string, unknown>;
    const record = makeRecord(
      context,
      number,
      fields[context.textField],
      fields[context.labelField],
    );
    if (record !== null) yield record;
  }
}

/**
 * Plain text for language modelling: documents are separated by blank lines. A document longer
 * than MAX_DOCUMENT_CHARS is cut at a line break into several.
 */
async function* parseText(
  lines: AsyncIterable<Line>,
  context: ParseContext,
): AsyncGenerator<DatasetRecord> {
  if (context.requireLabel) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset ${context.name}: plain text has no labels; classification needs JSON Lines or ` +
        'CSV/TSV with a label column',
    );
  }
  let parts: string[] = [];
  let chars = 0;
  let start = 0;
  for await (const { number, text: raw } of lines) {
    const text = number === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '' || chars >= MAX_DOCUMENT_CHARS) {
      if (parts.length > 0) yield { line: start, text: parts.join('\n'), label: null };
      parts = [];
      chars = 0;
      if (text.trim() === '') continue;
    }
    if (parts.length === 0) start = number;
    parts.push(text);
    chars += text.length + 1;
  }
  if (parts.length > 0) yield { line: start, text: parts.join('\n'), label: null };
}

/**
 * CSV (RFC 4180) or TSV with a header row naming the columns. A field that starts with `"` is
 * quoted: it may hold delimiters, line breaks and `""` for a quote. Elsewhere quotes are data.
 */
async function* parseDelimited(
  lines: AsyncIterable<Line>,
  context: ParseContext,
  delimiter: string,
): AsyncGenerator<DatasetRecord> {
  let columns: { text: number; label: number; count: number } | undefined;
  let row: string[] = [];
  let field: string | null = null; // an open quoted field carried over a line break
  let start = 0;
  let last = 0;
  let chars = 0;
  for await (const { number, text } of lines) {
    last = number;
    if (field === null) {
      if (text.trim() === '') continue;
      start = number;
      row = [];
      chars = 0;
    }
    const line = number === 1 ? text.replace(/^\uFEFF/, '') : text;
    field = splitFields(line, delimiter, row, field);
    chars += line.length;
    if (field !== null) {
      if (chars > MAX_RECORD_CHARS) {
        const reason = `a quoted field runs past ${MAX_RECORD_CHARS} characters`;
        context.bad(start, `${reason} (lines ${start}–${number})`, number - start + 1);
        field = null;
      } else field += '\n';
      continue;
    }
    if (columns === undefined) {
      columns = headerColumns(row, start, context);
      continue;
    }
    if (row.length < columns.count) {
      context.bad(start, `has ${row.length} fields; the header has ${columns.count}`);
      continue;
    }
    const label = columns.label === -1 ? undefined : row[columns.label];
    const record = makeRecord(context, start, row[columns.text], label);
    if (record !== null) yield record;
  }
  if (field !== null) {
    // Every line after the quote was read into the field: each of them is lost, not just one.
    const span = last - start + 1;
    const reason = `a quoted field is never closed; lines ${start}–${last} were read into it`;
    context.bad(start, reason, span);
  }
}

/** Appends the fields of `line` to `row`; returns the open quoted field, or null when closed. */
function splitFields(line: string, delimiter: string, row: string[], open: string | null) {
  let i = 0;
  let field = open;
  while (true) {
    if (field !== null) {
      // Inside quotes: read up to the closing quote, turning "" into ".
      const close = line.indexOf('"', i);
      if (close === -1) return field + line.slice(i);
      if (line[close + 1] === '"') {
        field += line.slice(i, close + 1);
        i = close + 2;
        continue;
      }
      const next = line.indexOf(delimiter, close + 1);
      // Characters between the closing quote and the delimiter are kept, as most readers do.
      row.push(
        field + line.slice(i, close) + line.slice(close + 1, next === -1 ? undefined : next),
      );
      if (next === -1) return null;
      field = null;
      i = next + 1;
      continue;
    }
    if (line[i] === '"') {
      field = '';
      i += 1;
      continue;
    }
    const next = line.indexOf(delimiter, i);
    row.push(line.slice(i, next === -1 ? undefined : next));
    if (next === -1) return null;
    i = next + 1;
  }
}

function headerColumns(header: string[], line: number, context: ParseContext) {
  const names = header.map((name) => name.trim());
  const text = names.indexOf(context.textField);
  const label = context.requireLabel ? names.indexOf(context.labelField) : -1;
  const missing =
    text === -1
      ? context.textField
      : label === -1 && context.requireLabel
        ? context.labelField
        : null;
  if (missing !== null) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset ${context.name}: the header (line ${line}) has no column "${missing}"; it has ` +
        `${printable(names.map((n) => `"${n}"`).join(', '))}. Name the columns with ` +
        '#text=…&label=…',
    );
  }
  return { text, label, count: Math.max(text, label) + 1 };
}
