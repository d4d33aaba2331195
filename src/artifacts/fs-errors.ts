import { AutomatError, ErrorCodes } from '../errors/index.js';

/** Local file-system failures of the artifact stores, translated in one place. */
export function translateFsError(error: unknown, operation: string): AutomatError {
  if (error instanceof AutomatError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new AutomatError(ErrorCodes.ARTIFACT_NOT_FOUND, `cannot ${operation}: ${detail}`, {
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new AutomatError(ErrorCodes.CONFIG_INVALID, `cannot ${operation}: ${detail}`, {
      cause: error,
    });
  }
  return new AutomatError(ErrorCodes.ARTIFACT_UNAVAILABLE, `cannot ${operation}: ${detail}`, {
    cause: error,
  });
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
