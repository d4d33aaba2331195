import type { Clock } from '../clock/clock.js';
import { ErrorCodes, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { PostgresTrialStore } from './postgres-trial-store.js';
import { SqliteTrialStore } from './sqlite-trial-store.js';
import type { TrialStore } from './trial-store.js';

export interface TrialStoreConfig {
  /**
   * Where trials live: `postgres://…` or `postgresql://…` for PostgreSQL; `sqlite:<path>`
   * (`sqlite:///abs/path.db` also works) or a plain file path for SQLite.
   */
  url: string;
  /** PostgreSQL only: the schema holding the tables. Default `automat`. */
  schema?: string;
  logger: Logger;
  clock?: Clock;
}

/** Opens the store the URL names; call migrate() on it before use. */
export function createTrialStore(config: TrialStoreConfig): TrialStore {
  const { url, logger, clock } = config;
  if (/^postgres(ql)?:\/\//i.test(url)) {
    return new PostgresTrialStore({ connectionString: url, schema: config.schema, logger, clock });
  }
  return new SqliteTrialStore({ path: sqlitePath(url), logger, clock });
}

function sqlitePath(url: string): string {
  if (/^sqlite:/i.test(url)) {
    const rest = url.slice('sqlite:'.length);
    return rejectEmpty(rest.startsWith('//') ? rest.slice(2) : rest, url);
  }
  // Any other `scheme://` is a typo or an unsupported database, not a file name.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw invalidUrl(url);
  }
  return rejectEmpty(url, url);
}

function rejectEmpty(path: string, url: string): string {
  if (path.trim() === '') throw invalidUrl(url);
  return path;
}

function invalidUrl(url: string): ValidationError {
  return new ValidationError(
    'store.url',
    [
      'store.url must be a postgres:// URL, a sqlite:<path> URL or a file path, ' +
        `got ${JSON.stringify(redactPassword(url))}`,
    ],
    ErrorCodes.CONFIG_INVALID,
  );
}

/** Keeps a password in a mistyped URL out of error messages and logs. */
function redactPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
