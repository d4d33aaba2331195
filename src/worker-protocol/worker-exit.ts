/**
 * Exit codes of the reference worker. Any worker may use them; `outOfMemory` is how a worker
 * reports that it caught an allocation failure itself before exiting.
 */
export const WorkerExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  outOfMemory: 3,
} as const;

/**
 * How a worker process ended: `clean` exit 0; `oom` ran out of memory (V8 heap, WebAssembly
 * heap or an allocation RangeError, seen on stderr or reported by exit code); `killed` ended by
 * a signal; `crashed` any other non-zero exit.
 */
export type ExitClassification = 'clean' | 'crashed' | 'killed' | 'oom';

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  classification: ExitClassification;
  /** The last bytes the worker wrote to stderr, decoded as UTF-8. */
  stderrTail: string;
}

const OUT_OF_MEMORY_PATTERNS: readonly RegExp[] = [
  /JavaScript heap out of memory/i,
  /Reached heap limit/i,
  // V8's own abort when a heap too small for the process itself fills up at start.
  /Fatal JavaScript OOM/i,
  /\bOut of memory\b/i,
  /Cannot enlarge memory/i,
  /Array buffer allocation failed/i,
  /RangeError:.*(allocation|allocate|Invalid typed array length|Invalid array buffer length)/i,
  // tfjs on WebAssembly reports a heap that could not grow as an out-of-bounds access.
  /memory access out of bounds/i,
];

/** True when `text` (stderr, or an error message) shows an out-of-memory condition. */
export function looksLikeOutOfMemory(text: string): boolean {
  return OUT_OF_MEMORY_PATTERNS.some((pattern) => pattern.test(text));
}

export function classifyExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
): ExitClassification {
  if (code === WorkerExitCode.outOfMemory || looksLikeOutOfMemory(stderrTail)) return 'oom';
  if (signal !== null) return 'killed';
  return code === 0 ? 'clean' : 'crashed';
}
