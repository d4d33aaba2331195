import { waitFor as poll } from '../../scripts/smoke/smoke-support.js';

/** Polls `predicate` every 50 ms until it holds; fails the test with `what` after `timeoutMs`. */
export function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return poll(predicate, timeoutMs, what, 50);
}
