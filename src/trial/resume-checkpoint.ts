import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerEntry } from './checkpoint-ledger.js';
import type { CheckpointUploader } from './trial-ports.js';

/**
 * The local folder a retry resumes from: the folder the worker wrote, when it is still on this
 * machine, or else a copy downloaded from the artifact store into `downloadDir`. Rejects when
 * neither works; the caller then starts the retry from scratch.
 */
export async function resumeDirectory(
  entry: LedgerEntry,
  artifacts: CheckpointUploader,
  downloadDir: string,
): Promise<{ path: string; source: 'local' | 'download' }> {
  if (await allPresent(entry.localPath, entry.files)) {
    return { path: entry.localPath, source: 'local' };
  }
  const target = join(downloadDir, `epoch-${entry.epoch}`);
  for (const file of entry.files) {
    await artifacts.getFile(`${entry.uri}${file}`, join(target, ...file.split('/')));
  }
  return { path: target, source: 'download' };
}

async function allPresent(dir: string, files: readonly string[]): Promise<boolean> {
  try {
    await Promise.all(files.map((file) => access(join(dir, ...file.split('/')))));
    return files.length > 0;
  } catch {
    return false;
  }
}
