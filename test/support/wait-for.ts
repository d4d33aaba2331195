import { waitFor as poll } from '../../scripts/smoke/smoke-support.js';

/** Polls `predicate` every 50 ms until it holds; fails the test with `what` after `timeoutMs`. */
export function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return poll(predicate, timeoutMs, what, 50);
}

/** Polls an asynchronous condition every 250 ms; throws after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
