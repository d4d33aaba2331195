import { ErrorCodes } from '../errors/index.js';
import { ChannelError } from './channel-error.js';

/**
 * The one place where ZeroMQ's errno-style codes become Automat0 errors. `action` names what
 * was attempted (`bind heartbeat socket`), and appears first in the message.
 */
export function translateZmqError(error: unknown, action: string): ChannelError {
  if (error instanceof ChannelError) return error;
  const zmqCode = codeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const message = `${action} failed: ${detail}`;

  switch (zmqCode) {
    case 'EAGAIN':
      // Raised when sendTimeout/receiveTimeout passes: no peer took the message in time.
      return new ChannelError(ErrorCodes.WORKER_TIMEOUT, `${action} timed out: no peer took it`, {
        cause: error,
        zmqCode,
      });
    case 'EADDRINUSE':
    case 'EADDRNOTAVAIL':
    case 'EINVAL':
    case 'ENODEV':
    case 'EPROTONOSUPPORT':
      return new ChannelError(ErrorCodes.WORKER_START_FAILED, message, { cause: error, zmqCode });
    case 'ETERM':
    case 'EBADF':
    case 'ENOTSOCK':
      return new ChannelError(ErrorCodes.ILLEGAL_STATE, message, { cause: error, zmqCode });
    default:
      return new ChannelError(ErrorCodes.INTERNAL, message, { cause: error, zmqCode });
  }
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' ? code : undefined;
}
