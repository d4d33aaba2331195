import { AutomatError, ErrorCodes } from '../../errors/index.js';

/** The record formats a dataset may be stored in; any of them may also be gzip-compressed. */
export type DatasetFormat = 'jsonl' | 'csv' | 'tsv' | 'text';

export const DATASET_FORMATS: readonly DatasetFormat[] = ['jsonl', 'csv', 'tsv', 'text'];

/** A dataset URI split into where the bytes are and how to read them. */
export interface DatasetUri {
  /** The URI without its options: a local path, a `file://` or an `s3://` URI. */
  location: string;
  /** Set by `#format=`; otherwise guessed from the file name. */
  format: DatasetFormat | undefined;
  /** Field (JSON Lines) or column (CSV/TSV) holding the text. Default `text`. */
  textField: string;
  /** Field or column holding the label. Default `label`. */
  labelField: string;
}

const OPTION_KEYS = new Set(['format', 'text', 'label']);

/**
 * Reads reading options from the URI fragment, so a TrialSpec's single `dataset_uri` can name a
 * CSV file's columns: `s3://corpora/reviews.csv.gz#text=body&label=stars`. A `#` whose tail is not
 * such a list of options is left as part of the path.
 */
export function parseDatasetUri(uri: string): DatasetUri {
  const { location, options } = splitOptions(uri);
  const format = options.get('format');
  if (format !== undefined && !(DATASET_FORMATS as string[]).includes(format)) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset ${uri}: #format must be one of ${DATASET_FORMATS.join(', ')}, got "${format}"`,
    );
  }
  return {
    location,
    format: format as DatasetFormat | undefined,
    textField: decodeURIComponent(options.get('text') ?? 'text'),
    labelField: decodeURIComponent(options.get('label') ?? 'label'),
  };
}

/**
 * Where a dataset URI's bytes are, as every reader takes it: the URI less a trailing option list.
 * The input policy checks this very string, so that it checks what will be opened.
 */
export function datasetLocation(uri: string): string {
  return splitOptions(uri).location;
}

function splitOptions(uri: string): { location: string; options: Map<string, string> } {
  const hash = uri.lastIndexOf('#');
  const tail = hash === -1 ? '' : uri.slice(hash + 1);
  const pairs = tail === '' ? [] : tail.split('&').map((pair) => pair.split('='));
  const isOptions =
    pairs.length > 0 && pairs.every((p) => p.length === 2 && OPTION_KEYS.has(p[0] as string));
  if (!isOptions) return { location: uri, options: new Map() };
  return { location: uri.slice(0, hash), options: new Map(pairs as Array<[string, string]>) };
}

/** The format a file name implies (`.jsonl`, `.csv.gz`, `.txt`, …), or undefined. */
export function formatFromName(name: string): DatasetFormat | undefined {
  const base = name.toLowerCase().replace(/\.(gz|gzip)$/, '');
  const extension = base.slice(base.lastIndexOf('.') + 1);
  if (['jsonl', 'ndjson', 'json'].includes(extension)) return 'jsonl';
  if (extension === 'csv') return 'csv';
  if (['tsv', 'tab'].includes(extension)) return 'tsv';
  if (['txt', 'text', 'md'].includes(extension)) return 'text';
  return undefined;
}
