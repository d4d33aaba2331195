import { AutomatError, ErrorCodes, type ErrorCode } from '../errors/index.js';

/**
 * A ZeroMQ channel could not do what was asked. `zmqCode` keeps the library's own code
 * (`EAGAIN`, `EADDRINUSE`, ...) for logs; callers match on the stable `code`.
 */
export class ChannelError extends AutomatError {
  override name = 'ChannelError';
  readonly zmqCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; zmqCode?: string }) {
    super(code, message, { cause: options.cause });
    this.zmqCode = options.zmqCode;
  }
}

/**
 * A message was sent to a channel that had already closed. The cause is the error recorded when
 * it closed, so the reason and the stack at that moment travel with the complaint.
 */
export class ChannelClosedError extends AutomatError {
  override name = 'ChannelClosedError';

  constructor(what: string, closedBecause: Error) {
    super(ErrorCodes.ILLEGAL_STATE, `${what} is closed (${closedBecause.message})`, {
      cause: closedBecause,
    });
  }
}
