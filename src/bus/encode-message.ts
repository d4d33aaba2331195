import { AutomatError, ErrorCodes } from '../errors/index.js';

/** JSON bytes of a bus message; a value JSON cannot carry (a cycle, a BigInt) is refused here. */
export function encodeMessage(message: object, operation: string): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (error) {
    throw new AutomatError(
      ErrorCodes.INVALID_MESSAGE,
      `cannot ${operation}: the message is not JSON-serialisable (${String(error)})`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new AutomatError(
      ErrorCodes.INVALID_MESSAGE,
      `cannot ${operation}: the message must be a JSON object, got ${typeof message}`,
    );
  }
  return Buffer.from(text, 'utf8');
}
