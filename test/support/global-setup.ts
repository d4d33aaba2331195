/**
 * Runs once before the suite. The build (`pretest`) has already produced dist/, which the worker
 * processes and piscina threads load; here we only fail early with a clear message if it is stale.
 */
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('dist/src/contracts/index.js')) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  }
}
