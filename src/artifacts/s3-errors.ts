import { AutomatError, ErrorCodes, type ErrorCode } from '../errors/index.js';

/**
 * The one place where S3 failures become AutomatErrors: a missing object or bucket is
 * ARTIFACT_NOT_FOUND; refused credentials or a malformed request is CONFIG_INVALID (retrying
 * cannot help); anything else, a 5xx, throttling or a connection failure, is ARTIFACT_UNAVAILABLE.
 */

const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchBucket']);
const REFUSED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'InvalidArgument',
]);

interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export interface S3ErrorContext {
  /** What we were doing, e.g. `upload s3://automat0/t-1/1/epoch-2/model.json`. */
  operation: string;
}

export function translateS3Error(error: unknown, context: S3ErrorContext): AutomatError {
  if (error instanceof AutomatError) return error;
  const shape = (error ?? {}) as S3ErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const detail = describe(shape, status);
  return new AutomatError(codeFor(shape, status), `cannot ${context.operation}: ${detail}`, {
    cause: error,
  });
}

/** True for "there is no such object (or bucket)": callers such as `head` turn it into a value. */
export function isS3NotFound(error: unknown): boolean {
  const shape = (error ?? {}) as S3ErrorShape;
  return NOT_FOUND.has(shape.name ?? '') || shape.$metadata?.httpStatusCode === 404;
}

function codeFor(shape: S3ErrorShape, status: number | undefined): ErrorCode {
  if (isS3NotFound(shape)) return ErrorCodes.ARTIFACT_NOT_FOUND;
  if (REFUSED.has(shape.name ?? '') || status === 403 || status === 400) {
    return ErrorCodes.CONFIG_INVALID;
  }
  return ErrorCodes.ARTIFACT_UNAVAILABLE;
}

function describe(shape: S3ErrorShape, status: number | undefined): string {
  // Socket errors carry an errno code; S3 replies carry a name and an HTTP status.
  if (status === undefined && shape.code) return `S3 unreachable (${shape.message ?? shape.code})`;
  const message = shape.message && shape.message !== 'UnknownError' ? `: ${shape.message}` : '';
  return `S3 replied ${status ?? '?'} ${shape.name ?? 'Error'}${message}`;
}
