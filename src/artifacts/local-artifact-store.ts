import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { joinKey, normalizeKey } from './artifact-key.js';
import type { ArtifactStore } from './artifact-store.js';
import { isMissing, translateFsError } from './fs-errors.js';
import { listFiles } from './list-files.js';

export interface LocalArtifactStoreOptions {
  /** Folder the store writes below; created on first use. */
  root: string;
  /** Key prefix inside `root`, e.g. `checkpoints`. Default none. */
  prefix?: string;
}

/** Artifacts as files in a local folder, for `automat0 run`; URIs are `file://` URLs. */
export class LocalArtifactStore implements ArtifactStore {
  readonly #base: string;
  #closing: Promise<void> | undefined;

  constructor(options: LocalArtifactStoreOptions) {
    const prefix = normalizeKey(options.prefix ?? '', 'artifacts.prefix', true);
    this.#base = join(resolve(options.root), ...(prefix === '' ? [] : prefix.split('/')));
  }

  async putFile(key: string, localPath: string): Promise<{ uri: string; bytes: number }> {
    const target = this.#pathOf(normalizeKey(key, 'key'));
    const bytes = await this.#copyIn(localPath, target);
    return { uri: pathToFileURL(target).href, bytes };
  }

  async putDirectory(
    keyPrefix: string,
    localDir: string,
  ): Promise<{ uri: string; bytes: number; files: number }> {
    const prefix = normalizeKey(keyPrefix, 'keyPrefix');
    const folder = this.#pathOf(prefix);
    const files = await listFiles(localDir).catch((error: unknown) => {
      throw translateFsError(error, `list ${localDir}`);
    });
    let bytes = 0;
    for (const file of files) {
      bytes += await this.#copyIn(file.absolute, this.#pathOf(joinKey(prefix, file.relative)));
    }
    return { uri: `${pathToFileURL(folder).href}/`, bytes, files: files.length };
  }

  async head(uri: string): Promise<{ bytes: number } | undefined> {
    const path = pathOfUri(uri);
    try {
      const info = await stat(path);
      if (!info.isDirectory()) return { bytes: info.size };
      const files = await listFiles(path);
      if (files.length === 0) return undefined;
      return { bytes: files.reduce((sum, f) => sum + f.bytes, 0) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw translateFsError(error, `read ${uri}`);
    }
  }

  async getFile(uri: string, localPath: string): Promise<void> {
    await this.#copy(pathOfUri(uri), localPath, `download ${uri}`);
  }

  close(): Promise<void> {
    this.#closing ??= Promise.resolve();
    return this.#closing;
  }

  #pathOf(key: string): string {
    return join(this.#base, ...key.split('/'));
  }

  async #copyIn(source: string, target: string): Promise<number> {
    await this.#copy(source, target, `store ${source}`);
    return (await stat(target)).size;
  }

  /** Copies through a temporary name, so a reader never sees half a file. */
  async #copy(source: string, target: string, operation: string): Promise<void> {
    const temporary = `${target}.${randomUUID()}.partial`;
    try {
      await mkdir(dirname(target), { recursive: true });
      await copyFile(source, temporary);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw translateFsError(error, operation);
    }
  }
}

function pathOfUri(uri: string): string {
  if (!uri.startsWith('file://')) {
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,
      `the local artifact store reads file:// URIs, got ${JSON.stringify(uri)}`,
    );
  }
  return fileURLToPath(uri);
}
