import { AutomatError, ErrorCodes, type ErrorCode } from '../errors/index.js';

/** A trial store failure; `driverCode` keeps the SQLSTATE, SQLite or socket code behind it. */
export class StoreError extends AutomatError {
  override name = 'StoreError';

  constructor(
    code: ErrorCode,
    message: string,
    readonly operation: string,
    readonly driverCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * The one place that turns PostgreSQL SQLSTATEs, SQLite result codes and socket errors into
 * stable Automat0 codes. `operation` names what the store was doing (`recordEpoch`) and leads
 * the message. An AutomatError passes through unchanged.
 */
export function toStoreError(error: unknown, operation: string): AutomatError {
  if (error instanceof AutomatError) return error;

  const driverCode = codeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const missingTable = driverCode === '42P01' || /no such table/.test(detail);
  const code = missingTable ? ErrorCodes.STORE_NOT_MIGRATED : classify(driverCode, detail);
  const hint = missingTable ? ' (run migrate first)' : '';
  return new StoreError(
    code,
    `trial store ${operation} failed: ${detail}${hint}`,
    operation,
    driverCode,
    {
      cause: error,
    },
  );
}

function classify(driverCode: string | undefined, detail: string): ErrorCode {
  if (driverCode === undefined) {
    return PG_CONNECTION_MESSAGES.test(detail) ? ErrorCodes.STORE_UNAVAILABLE : ErrorCodes.INTERNAL;
  }
  if (driverCode.startsWith('SQLITE_')) return classifySqlite(driverCode);
  if (SYSTEM_CODES.has(driverCode)) return ErrorCodes.STORE_UNAVAILABLE;
  if (SQLSTATE.test(driverCode)) return classifySqlState(driverCode);
  return ErrorCodes.INTERNAL;
}

/** PostgreSQL error codes: https://www.postgresql.org/docs/current/errcodes-appendix.html */
function classifySqlState(sqlState: string): ErrorCode {
  const sqlClass = sqlState.slice(0, 2);
  if (sqlClass === '08' || sqlClass === '53' || sqlClass === '58') {
    return ErrorCodes.STORE_UNAVAILABLE; // connection, insufficient resources, system error
  }
  if (sqlState === '57P01' || sqlState === '57P02' || sqlState === '57P03') {
    return ErrorCodes.STORE_UNAVAILABLE; // admin or crash shutdown, cannot connect now
  }
  if (sqlClass === '23' || sqlState === '40001' || sqlState === '40P01') {
    return ErrorCodes.STORE_CONFLICT; // constraint violation, serialization failure, deadlock
  }
  if (sqlClass === '28' || sqlState === '3D000') {
    return ErrorCodes.CONFIG_INVALID; // bad credentials, database does not exist
  }
  return ErrorCodes.INTERNAL;
}

/** SQLite extended result codes as better-sqlite3 names them: https://sqlite.org/rescode.html */
function classifySqlite(code: string): ErrorCode {
  if (code.startsWith('SQLITE_CONSTRAINT')) return ErrorCodes.STORE_CONFLICT;
  if (SQLITE_UNAVAILABLE.some((prefix) => code.startsWith(prefix))) {
    return ErrorCodes.STORE_UNAVAILABLE;
  }
  return ErrorCodes.INTERNAL;
}

const SQLITE_UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
];

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Node system errors: the server cannot be reached, or the SQLite file cannot be written. */
const SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'ENOTDIR',
  'EISDIR',
]);

// pg reports a dropped or timed-out connection with a plain Error that has no code.
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end/;

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node reports a failed dual-stack connect as an AggregateError of per-address errors.
  if (error instanceof AggregateError) return codeOf(error.errors[0]);
  return undefined;
}
