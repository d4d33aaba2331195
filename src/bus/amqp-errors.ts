import { AutomatError, ErrorCodes, type ErrorCode } from '../errors/index.js';
import { busClosedError, type CloseReason } from './close-reason.js';

/**
 * The one place where AMQP reply codes, amqplib's errors and socket errors become AutomatErrors.
 * A broker that is unreachable or refused a message is BUS_UNAVAILABLE (worth retrying later);
 * using a closed connection or channel is BUS_CLOSED; a broker that disagrees with our settings
 * (credentials, vhost, a queue declared with other arguments) is CONFIG_INVALID, because retrying
 * cannot fix it.
 */

interface ReplyCode {
  name: string;
  code: ErrorCode;
}

/** AMQP 0-9-1 reply codes (spec section 1.9) that a broker sends in `*.close` and `basic.return`. */
const REPLY_CODES: Readonly<Record<number, ReplyCode>> = {
  311: { name: 'CONTENT_TOO_LARGE', code: ErrorCodes.BUS_UNAVAILABLE },
  312: { name: 'NO_ROUTE', code: ErrorCodes.BUS_UNAVAILABLE },
  313: { name: 'NO_CONSUMERS', code: ErrorCodes.BUS_UNAVAILABLE },
  320: { name: 'CONNECTION_FORCED', code: ErrorCodes.BUS_UNAVAILABLE },
  402: { name: 'INVALID_PATH', code: ErrorCodes.CONFIG_INVALID },
  403: { name: 'ACCESS_REFUSED', code: ErrorCodes.CONFIG_INVALID },
  404: { name: 'NOT_FOUND', code: ErrorCodes.BUS_UNAVAILABLE },
  405: { name: 'RESOURCE_LOCKED', code: ErrorCodes.BUS_UNAVAILABLE },
  406: { name: 'PRECONDITION_FAILED', code: ErrorCodes.CONFIG_INVALID },
  501: { name: 'FRAME_ERROR', code: ErrorCodes.INTERNAL },
  502: { name: 'SYNTAX_ERROR', code: ErrorCodes.INTERNAL },
  503: { name: 'COMMAND_INVALID', code: ErrorCodes.INTERNAL },
  504: { name: 'CHANNEL_ERROR', code: ErrorCodes.INTERNAL },
  505: { name: 'UNEXPECTED_FRAME', code: ErrorCodes.INTERNAL },
  506: { name: 'RESOURCE_ERROR', code: ErrorCodes.BUS_UNAVAILABLE },
  530: { name: 'NOT_ALLOWED', code: ErrorCodes.CONFIG_INVALID },
  540: { name: 'NOT_IMPLEMENTED', code: ErrorCodes.INTERNAL },
  541: { name: 'INTERNAL_ERROR', code: ErrorCodes.BUS_UNAVAILABLE },
};

/** Socket failures that mean "no broker there right now". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

export interface AmqpErrorContext {
  /** What we were doing, e.g. `connect to amqp://guest:***@127.0.0.1:5672` or `publish`. */
  operation: string;
  /** Why the channel or connection involved closed, when it did. */
  closed?: CloseReason;
}

export function translateAmqpError(error: unknown, context: AmqpErrorContext): AutomatError {
  if (error instanceof AutomatError) return error;
  const err = error instanceof Error ? error : new Error(String(error));

  if (isClosedError(err)) {
    if (context.closed) return busClosedError(context.operation, context.closed);
    return new AutomatError(ErrorCodes.BUS_CLOSED, `cannot ${context.operation}: ${err.message}`, {
      cause: err,
    });
  }
  const reply = replyCodeOf(err);
  if (reply !== undefined) {
    const known = REPLY_CODES[reply];
    const code = known?.code ?? ErrorCodes.BUS_UNAVAILABLE;
    const message = `${context.operation} failed: broker replied ${reply} ${known?.name ?? ''}`;
    return new AutomatError(code, `${message.trimEnd()} (${err.message})`, { cause: err });
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if ((errno !== undefined && UNREACHABLE.has(errno)) || err.message === 'connect ETIMEDOUT') {
    return new AutomatError(
      ErrorCodes.BUS_UNAVAILABLE,
      `cannot ${context.operation}: broker unreachable (${err.message})`,
      { cause: err },
    );
  }
  if (err.message === 'message nacked') {
    return new AutomatError(
      ErrorCodes.BUS_UNAVAILABLE,
      `${context.operation} failed: the broker refused the message (basic.nack)`,
      { cause: err },
    );
  }
  return new AutomatError(
    ErrorCodes.BUS_UNAVAILABLE,
    `${context.operation} failed: ${err.message}`,
    {
      cause: err,
    },
  );
}

/** A `mandatory` publish came back as `basic.return`: no queue took it. */
export function unroutableError(
  operation: string,
  replyCode: number,
  replyText: string,
  target: { exchange: string; routingKey: string },
): AutomatError {
  const exchange =
    target.exchange === '' ? 'the default exchange' : `exchange "${target.exchange}"`;
  const known = REPLY_CODES[replyCode];
  return new AutomatError(
    known?.code ?? ErrorCodes.BUS_UNAVAILABLE,
    `${operation} failed: ${exchange} routed "${target.routingKey}" to no queue ` +
      `(${replyCode} ${replyText})`,
  );
}

/** amqplib's IllegalOperationError, or a confirm callback failed because its channel closed. */
function isClosedError(err: Error): boolean {
  return err.name === 'IllegalOperationError' || err.message === 'channel closed';
}

/**
 * Channel and connection errors carry the reply code as `code`; a refused handshake only says it
 * in the message ("Handshake terminated by server: 403 (ACCESS-REFUSED) …").
 */
function replyCodeOf(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return code;
  const match = /\b([3-5]\d\d) \([A-Z_-]+\)/.exec(err.message);
  return match ? Number(match[1]) : undefined;
}
