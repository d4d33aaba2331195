import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { readTokenizerJson, type TokenizerJsonFacts } from './tokenizer-json.js';
import { createWordSplitter } from './word-splitter.js';

/** Where a tokenizer lives on disk; plain strings so it can be posted to worker threads. */
export interface TokenizerFiles {
  tokenizerPath: string;
  /** tokenizer_config.json beside it, or null when there is none. */
  configPath: string | null;
}

/** The facts about a tokenizer that the pipeline and the shard manifest need. */
export interface LoadedTokenizer {
  ref: string;
  files: TokenizerFiles;
  /** sha256 of the tokenizer.json bytes. */
  sha256: string;
  /** sha256 of the tokenizer_config.json bytes, or null without one. */
  configSha256: string | null;
  /** Highest token id + 1, added tokens included. */
  vocabSize: number;
  /**
   * Id written into padded positions: the config's `pad_token`, else the unknown token, else the
   * end-of-sequence token, else 0. llama2 has no pad token, so it pads with `<unk>` (id 0), which
   * its byte-fallback model never emits for real text.
   */
  padId: number;
  /** End-of-sequence id (`eos_token`, `</s>`, `<|endoftext|>`), or null when there is none. */
  eosId: number | null;
  /**
   * True when no vocabulary entry contains a space marker (` `, `▁`, `Ġ`) after another
   * character. Tokens then never span the boundary between a word and the space after it, so a
   * text cut there encodes to an exact prefix of the full text's ids.
   */
  wordBounded: boolean;
}

/**
 * Reads and hashes a tokenizer's files and works out its special ids, without building it (the
 * ingest threads build it). Any failure is TOKENIZER_INVALID naming `ref`.
 */
export async function openTokenizer(ref: string, files: TokenizerFiles): Promise<LoadedTokenizer> {
  const json = await readTokenizerFile(ref, files.tokenizerPath);
  const config = files.configPath === null ? null : await readTokenizerFile(ref, files.configPath);
  let facts: TokenizerJsonFacts;
  try {
    facts = readTokenizerJson(json.value);
  } catch (error) {
    const path = files.tokenizerPath;
    const reason = `${path} is not a usable tokenizer.json: ${(error as Error).message}`;
    throw invalid(ref, reason, error);
  }
  const settings = config?.value ?? {};
  if (files.configPath !== null) checkNamedTokens(ref, files, facts, settings);
  return {
    ref,
    files,
    sha256: json.sha256,
    configSha256: config?.sha256 ?? null,
    vocabSize: maxId(facts.vocab.values()) + 1,
    padId: pickPadId(facts, settings),
    eosId: pickEosId(facts, settings),
    wordBounded: createWordSplitter(facts) !== null,
  };
}

interface ParsedFile {
  value: Record<string, unknown>;
  sha256: string;
}

async function readTokenizerFile(ref: string, path: string): Promise<ParsedFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw invalid(ref, `cannot read ${path}: ${(error as Error).message}`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    // V8's message quotes the start of the text; a spec must not learn a file's contents that
    // way, so only the position is reported.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw invalid(ref, `${path} is not valid JSON${at ? ` (at position ${at})` : ''}`, error);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(ref, `${path} must hold a JSON object`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { value: value as Record<string, unknown>, sha256 };
}

export function invalid(ref: string, reason: string, cause?: unknown): AutomatError {
  return new AutomatError(ErrorCodes.TOKENIZER_INVALID, `tokenizer_ref "${ref}": ${reason}`, {
    cause,
  });
}

/** Special tokens appear in tokenizer_config.json either as a string or as `{content}`. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && 'content' in value) {
    const content = (value as { content: unknown }).content;
    return typeof content === 'string' ? content : undefined;
  }
  return undefined;
}

function idOf(facts: TokenizerJsonFacts, names: unknown[]): number | undefined {
  for (const name of names) {
    const token = tokenName(name);
    const id = token === undefined ? undefined : facts.vocab.get(token);
    if (id !== undefined) return id;
  }
  return undefined;
}

/**
 * A special token the config names but the vocabulary lacks is a config for another tokenizer:
 * padding with some other id instead would train on rows nobody asked for.
 */
function checkNamedTokens(
  ref: string,
  files: TokenizerFiles,
  facts: TokenizerJsonFacts,
  settings: Record<string, unknown>,
): void {
  for (const field of ['pad_token', 'eos_token', 'unk_token']) {
    const value = settings[field];
    if (value === undefined || value === null) continue;
    const token = tokenName(value);
    if (token === undefined) {
      throw invalid(ref, `${files.configPath}: ${field} must be a string or {"content": string}`);
    }
    if (!facts.vocab.has(token)) {
      const what = `${files.configPath}: ${field} ${JSON.stringify(token)}`;
      throw invalid(ref, `${what} is not in the vocabulary of ${files.tokenizerPath}`);
    }
  }
}

function pickEosId(facts: TokenizerJsonFacts, settings: Record<string, unknown>): number | null {
  return idOf(facts, [settings.eos_token, '</s>', '<|endoftext|>', '<eos>', '[SEP]']) ?? null;
}

function pickPadId(facts: TokenizerJsonFacts, settings: Record<string, unknown>): number {
  const unk = [settings.unk_token, facts.unkToken, '<unk>', '[UNK]'];
  return idOf(facts, [settings.pad_token]) ?? idOf(facts, unk) ?? pickEosId(facts, settings) ?? 0;
}

function maxId(ids: Iterable<number>): number {
  let max = -1;
  for (const id of ids) if (id > max) max = id;
  return max;
}
