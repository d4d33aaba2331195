import winston from 'winston';

/**
 * The project's one logging surface: a constant message plus a metadata object. Everything takes
 * a Logger by injection; only the CLI decides where the lines go.
 */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  child(meta: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface LoggerOptions {
  /** Lowest level written. Default `info`, or `AUTOMAT_LOG_LEVEL`. */
  level?: LogLevel;
  /** `json` for machines, `pretty` for a terminal. Default `json`. */
  format?: 'json' | 'pretty';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format =
    options.format === 'pretty'
      ? winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.printf(({ timestamp, level: lvl, message, ...meta }) => {
            const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
            return `${String(timestamp)} ${lvl} ${String(message)}${rest}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  const logger = winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    format,
    // stderr keeps stdout free for the CLI's own output (tables, JSON results).
    transports: [
      new winston.transports.Console({ stderrLevels: ['debug', 'info', 'warn', 'error'] }),
    ],
  });
  return wrap(logger);
}

function wrap(logger: winston.Logger): Logger {
  return {
    debug: (message, meta) => logger.debug(message, safe(meta)),
    info: (message, meta) => logger.info(message, safe(meta)),
    warn: (message, meta) => logger.warn(message, safe(meta)),
    error: (message, meta) => logger.error(message, safe(meta)),
    child: (meta) => wrap(logger.child(meta)),
  };
}

/**
 * Winston merges a `message` key of the metadata into the line's constant message, which would
 * make it vary; such a key is kept as `detail` instead.
 */
function safe(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta || !('message' in meta)) return meta;
  const { message, ...rest } = meta;
  return { ...rest, detail: message };
}

/** A logger that drops everything; for tests that assert on behaviour, not on log lines. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
