import { AutomatError, ErrorCodes } from '../errors/index.js';

/**
 * Why a connection, channel or bus stopped, recorded at the moment it happened. Later "used
 * after close" errors carry it as `cause`, so the stack in a report points at the close, not only
 * at the unlucky caller that came afterwards.
 */
export interface CloseReason {
  /** What closed: `connection`, `publish channel`, `bus`, … */
  subject: string;
  /** The broker's or the caller's explanation. */
  message: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Carries the stack at the moment of closing (or the broker's error, as received). */
  error: Error;
}

export function closeReason(subject: string, at: number, why: unknown): CloseReason {
  const error = why instanceof Error ? why : new Error(String(why));
  return { subject, message: error.message, at, error };
}

/** `the publish channel closed at 2025-…Z: Channel closed by server: 404 (NOT-FOUND) …` */
export function describeClose(reason: CloseReason): string {
  return `the ${reason.subject} closed at ${new Date(reason.at).toISOString()}: ${reason.message}`;
}

/** "Sent to a closed channel": names what closed, when and why; the cause holds that stack. */
export function busClosedError(operation: string, reason: CloseReason): AutomatError {
  return new AutomatError(ErrorCodes.BUS_CLOSED, `cannot ${operation}: ${describeClose(reason)}`, {
    cause: reason.error,
  });
}

/**
 * "Refused during an outage": names what closed, when and why, then what follows for the caller,
 * e.g. `the bus is reconnecting; try again later`. Worth retrying, unlike BUS_CLOSED.
 */
export function busUnavailableError(
  operation: string,
  reason: CloseReason,
  consequence: string,
): AutomatError {
  return new AutomatError(
    ErrorCodes.BUS_UNAVAILABLE,
    `cannot ${operation}: ${describeClose(reason)}; ${consequence}`,
    { cause: reason.error },
  );
}
