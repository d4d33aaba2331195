import { ErrorCodes, isErrorCode, type ErrorCode } from './error-codes.js';

/** The shape in which an error crosses a thread, ZeroMQ or AMQP boundary. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
}

/** Base of every error Automat0 raises on purpose. */
export class AutomatError extends Error {
  override name = 'AutomatError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** A message or value failed validation; `field` is the dotted path of the first problem. */
export class ValidationError extends AutomatError {
  override name = 'ValidationError';
  readonly field: string;
  readonly problems: readonly string[];

  constructor(
    field: string,
    problems: readonly string[],
    code: ErrorCode = ErrorCodes.INVALID_MESSAGE,
  ) {
    super(code, problems.join('; '));
    this.field = field;
    this.problems = problems;
  }
}

/** A caller asked the trial state machine for a move it does not allow. */
export class IllegalStateError extends AutomatError {
  override name = 'IllegalStateError';

  constructor(
    readonly current: string,
    readonly requested: string,
  ) {
    super(ErrorCodes.ILLEGAL_STATE, `cannot move from "${current}" to "${requested}"`);
  }
}

/** Turns anything thrown into the wire shape, keeping the stable code when there is one. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof AutomatError) return error.toJSON();
  if (error instanceof Error) {
    return { name: error.name, code: ErrorCodes.INTERNAL, message: error.message };
  }
  return { name: 'Error', code: ErrorCodes.INTERNAL, message: String(error) };
}

/** Rebuilds an error that arrived from another process or thread. */
export function deserializeError(wire: {
  name?: unknown;
  code?: unknown;
  message?: unknown;
}): AutomatError {
  const code = isErrorCode(wire.code) ? wire.code : ErrorCodes.INTERNAL;
  const error = new AutomatError(
    code,
    typeof wire.message === 'string' ? wire.message : 'unknown error',
  );
  if (typeof wire.name === 'string') error.name = wire.name;
  return error;
}
