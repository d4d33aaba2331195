/**
 * `npm run bench:ingest`: how close the ingest pipeline runs to the raw tokenizer, on the State
 * of the Union corpus (generation) and SpamAssassin (classification). Each measurement runs in
 * its own process (scripts/bench/ingest-probe.ts). Prints a table, then the same numbers as
 * JSON, which it also writes to .automat/bench/ingest-bench.json.
 *
 *   node dist/scripts/bench-ingest.js [--quick] [--repeat N]
 *
 * --quick skips the pure-JS comparison; --repeat (default 3) is how many times the raw encode and
 * the warm pipeline run are repeated (the median counts), since other work on the machine moves
 * single runs by tens of percent.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, type BenchReport, type CorpusResult } from './bench/bench-report.js';
import {
  lanesSpeed,
  median,
  pipelineRow,
  rawSpeed,
  type PipelineRun,
  type RawRun,
} from './bench/bench-runs.js';
import { targets } from './bench/bench-targets.js';
import { prepareCorpora, type BenchCorpus } from './bench/corpora.js';

const PROBE = resolve('dist/scripts/bench/ingest-probe.js');
const OUT_DIR = resolve('.automat/bench');

const run = promisify(execFile);

async function probe<T>(args: string[]): Promise<T> {
  const { stdout, stderr } = await run(process.execPath, [PROBE, ...args], { maxBuffer: 1 << 24 });
  if (stderr.trim() !== '') process.stderr.write(stderr);
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}

function corpusArgs(corpus: BenchCorpus): string[] {
  return ['--dataset', corpus.path, '--task', corpus.taskType, '--seq-len', String(corpus.seqLen)];
}

/**
 * A pipeline probe; `paired` interleaves raw encodes with its warm builds (more memory);
 * `pieceCache: false` runs its threads without their piece cache.
 */
async function pipelineRun(
  corpus: BenchCorpus,
  threads: number,
  cacheDir: string,
  repeat: number,
  options: { paired: boolean; pieceCache?: boolean },
) {
  await rm(cacheDir, { recursive: true, force: true });
  const args = ['--mode', 'pipeline', '--threads', String(threads), '--cache-dir', cacheDir];
  if (options.paired) args.push('--paired');
  if (options.pieceCache === false) args.push('--no-piece-cache');
  return probe<PipelineRun>([...args, '--repeat', String(repeat), ...corpusArgs(corpus)]);
}

/** The library with the pipeline's piece cache in front: a cold run, then a warm one. */
async function rawPieceCache(
  corpus: BenchCorpus,
  raw: RawRun,
): Promise<CorpusResult['rawPieceCache']> {
  progress(`${corpus.name}: raw native encode through the piece cache (cold, then warm)`);
  const args = ['--mode', 'raw', '--backend', 'native', '--piece-cache', '--repeat', '2'];
  const cached = await probe<RawRun>([...args, ...corpusArgs(corpus)]);
  const speedOf = (run: RawRun['runs'][number]) => ({
    mbPerS: cached.textBytes / run.seconds / 1e6,
    tokensPerS: cached.tokens / run.seconds,
  });
  return {
    cold: speedOf(cached.runs[0] as RawRun['runs'][number]),
    warm: speedOf(cached.runs[1] as RawRun['runs'][number]),
    sameIds: cached.idsSha256 === raw.idsSha256,
  };
}

async function rawJsSpeed(corpus: BenchCorpus, raw: RawRun): Promise<CorpusResult['rawJs']> {
  progress(`${corpus.name}: raw pure-JS encode`);
  const js = await probe<RawRun>(['--mode', 'raw', '--backend', 'js', ...corpusArgs(corpus)]);
  const speed = rawSpeed(js);
  return {
    mbPerS: speed.mbPerS,
    tokensPerS: speed.tokensPerS,
    sameIds: js.idsSha256 === raw.idsSha256,
  };
}

async function measure(
  corpus: BenchCorpus,
  work: string,
  options: { compare: boolean; repeat: number },
): Promise<CorpusResult> {
  progress(`${corpus.name}: raw native encode (${options.repeat}×)`);
  const rawArgs = ['--mode', 'raw', '--backend', 'native', ...corpusArgs(corpus)];
  const raw = await probe<RawRun>([...rawArgs, '--repeat', String(options.repeat)]);
  const speed = rawSpeed(raw);
  const rawJs = options.compare ? await rawJsSpeed(corpus, raw) : undefined;
  const pieceCache = await rawPieceCache(corpus, raw);
  const pipeline: CorpusResult['pipeline'] = [];
  const cacheDir = join(work, 'cache');
  let hitsMs: number[] = [];
  let lanes: CorpusResult['raw']['lanes'];
  const variants = [
    { threads: 1, pieceCache: true },
    { threads: 2, pieceCache: true },
    { threads: 2, pieceCache: false },
  ];
  for (const variant of variants) {
    const { threads } = variant;
    const what = variant.pieceCache ? '' : ', no piece cache';
    progress(`${corpus.name}: pipeline, ${threads} thread(s)${what}, cold and warm`);
    const run = await pipelineRun(corpus, threads, cacheDir, options.repeat, {
      paired: true,
      pieceCache: variant.pieceCache,
    });
    if (variant.pieceCache) hitsMs = run.hitsMs;
    const { paired } = run;
    if (paired?.lanes !== undefined) lanes = lanesSpeed(raw, paired.single, paired.lanes, threads);
    const baseline = { raw, speed, ...variant, peakRssMiB: run.peakRssMiB };
    pipeline.push(pipelineRow(baseline, [run.cold], false, run.loadAfter, paired));
    pipeline.push(pipelineRow(baseline, run.warm, true, run.loadAfter, paired));
  }
  progress(`${corpus.name}: cache hit in a fresh process`);
  const hitArgs = ['--mode', 'hit', '--cache-dir', cacheDir, ...corpusArgs(corpus)];
  const fresh = await probe<{ hitMs: number }>(hitArgs);
  await rm(cacheDir, { recursive: true, force: true });
  return {
    corpus: corpus.name,
    task: corpus.taskType,
    seqLen: corpus.seqLen,
    texts: raw.texts,
    textMB: raw.textBytes / 1e6,
    raw: { backend: 'native', ...speed, ...(lanes ? { lanes } : {}) },
    ...(rawJs ? { rawJs } : {}),
    rawPieceCache: pieceCache,
    pipeline,
    cacheHitMs: median(hitsMs),
    cacheHitMaxMs: Math.max(...hitsMs),
    cacheHitFreshProcessMs: fresh.hitMs,
  };
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '3' },
    },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new Error(`--repeat must be a positive integer, got "${values.repeat}"`);
  }
  const loadAverageAtStart = loadavg()[0] as number;
  const corpora = await prepareCorpora(OUT_DIR);
  const work = await mkdtemp(join(tmpdir(), 'automat0-bench-'));
  try {
    const options = { compare: !values.quick, repeat };
    const results = [
      await measure(corpora.sotu, work, options),
      await measure(corpora.spam, work, options),
    ];
    // Memory is measured in probes of their own: a paired probe also holds the raw texts.
    progress(`${corpora.sotu.name} and ${corpora.sotuDouble.name}: pipeline, 2 threads (memory)`);
    const cache = join(work, 'cache');
    const memory = { paired: false };
    const single = (await pipelineRun(corpora.sotu, 2, cache, 1, memory)).peakRssMiB;
    const double = await pipelineRun(corpora.sotuDouble, 2, cache, 1, memory);
    const partial = {
      machine: {
        cpus: availableParallelism(),
        loadAverageAtStart,
        loadAverageAtEnd: loadavg()[0] as number,
        node: process.version,
        repeat,
      },
      corpora: results,
      rssFlat: {
        corpus: corpora.sotu.name,
        singleMiB: single,
        doubleMiB: double.peakRssMiB,
        growth: double.peakRssMiB / single - 1,
      },
    };
    const report: BenchReport = { ...partial, targets: targets(partial) };
    console.log(formatReport(report));
    console.log(JSON.stringify(report, null, 2));
    await writeFile(join(OUT_DIR, 'ingest-bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
