import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutomatError, ErrorCodes } from '../errors/index.js';

let cachedRoot: string | undefined;

/**
 * The folder holding Automat0's package.json. Found by walking up from this module, because this
 * module runs both compiled (dist/src/runtime/dist-path.js) and as TypeScript under vitest
 * (src/runtime/dist-path.ts), which sit at different depths.
 */
export function projectRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      cachedRoot = dir;
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new AutomatError(
        ErrorCodes.INTERNAL,
        `no package.json found in ${start} or any folder above it`,
      );
    }
  }
}

/**
 * Absolute path of the compiled JavaScript for a source module, e.g.
 * `distEntry('src/ingest/tokenize-task')` → `<root>/dist/src/ingest/tokenize-task.js`.
 *
 * Worker threads and child processes must load compiled JavaScript even when the caller runs
 * from TypeScript (vitest), so every such entry point is resolved here. Throws when the file is
 * missing, so a stale build fails with a clear message instead of an obscure loader error.
 */
export function distEntry(relativePathWithoutExtension: string): string {
  const path = join(projectRoot(), 'dist', `${relativePathWithoutExtension}.js`);
  if (!existsSync(path)) {
    throw new AutomatError(
      ErrorCodes.INTERNAL,
      `compiled entry ${path} is missing: run \`npm run build\` first`,
    );
  }
  return path;
}
