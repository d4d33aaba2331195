/**
 * Writes one JSON Schema file per message into docs/contracts/, from the TypeBox definitions
 * the code validates with. `--check` fails when the committed files differ (CI runs it).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { exportedSchemas } from '../src/contracts/index.js';

const outDir = join(process.cwd(), 'docs', 'contracts');
const check = process.argv.includes('--check');
mkdirSync(outDir, { recursive: true });

let stale = 0;
for (const [name, schema] of Object.entries(exportedSchemas)) {
  const file = join(outDir, `${name}.schema.json`);
  const text = `${JSON.stringify(
    { $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema },
    null,
    2,
  )}\n`;
  if (check) {
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      console.error(`stale: ${file} (run npm run contracts:export)`);
      stale += 1;
    }
    continue;
  }
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
process.exitCode = stale > 0 ? 1 : 0;
