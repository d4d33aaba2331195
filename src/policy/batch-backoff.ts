/** The outcome of one out-of-memory back-off step. */
export type BatchBackoff =
  | { kind: 'halved'; before: number; after: number }
  | { kind: 'exhausted'; before: number; floor: number };

/**
 * Halves the batch after an out-of-memory failure, rounding down, as long as the result stays
 * at or above `floor` (`hparams.min_batch_size`). A batch that cannot be halved without going
 * below the floor is exhausted: the trial ends `oom_exhausted` instead of repeating the crash.
 */
export function halveBatch(before: number, floor: number): BatchBackoff {
  const after = Math.floor(before / 2);
  if (after < Math.max(1, floor)) return { kind: 'exhausted', before, floor };
  return { kind: 'halved', before, after };
}
