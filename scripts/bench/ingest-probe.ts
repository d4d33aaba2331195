/**
 * One measurement of the ingest bench, run in its own process so that its peak RSS is its own:
 *
 *   raw       single-thread encode of the texts (already in memory) with one backend
 *   pipeline  the full pipeline on a fresh cache with N threads, then the same request again
 *   hit       the same request in a fresh process, against a cache a pipeline run left
 *
 * Prints one JSON object on stdout.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeHead } from '../../src/ingest/encode-text.js';
import { ingestDataset } from '../../src/ingest/ingest-dataset.js';
import { IngestPool } from '../../src/ingest/ingest-pool.js';
import { locateBytes } from '../../src/ingest/sources/byte-source.js';
import { RecordSource } from '../../src/ingest/sources/record-source.js';
import { openEncoder, type TokenizerBackend } from '../../src/ingest/token-encoder.js';
import { loadTokenizer } from '../../src/ingest/tokenizer-registry.js';
import { createLogger } from '../../src/log/logger.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    dataset: { type: 'string' },
    task: { type: 'string' },
    'seq-len': { type: 'string' },
    threads: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'native' },
    'cache-dir': { type: 'string' },
  },
});
const dataset = values.dataset as string;
const taskType = values.task as 'classification' | 'generation';
const seqLen = Number(values['seq-len']);
const backend = values.backend as TokenizerBackend;

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function raw(): Promise<object> {
  const records = new RecordSource(await locateBytes(dataset, undefined), {
    format: 'jsonl',
    requireLabel: taskType === 'classification',
  });
  const texts: string[] = [];
  for await (const record of records) texts.push(record.text);
  const tokenizer = await loadTokenizer('llama2');
  const encoder = await openEncoder('llama2', backend, tokenizer.files, tokenizer.sha256);
  const hash = createHash('sha256');
  let tokens = 0;
  let textBytes = 0;
  const cpu = cpuSeconds();
  const started = performance.now();
  for (const text of texts) {
    const ids =
      taskType === 'classification'
        ? (await encodeHead(encoder, tokenizer.wordBounded, text, seqLen)).ids
        : await encoder.encode(text);
    tokens += ids.length;
    textBytes += Buffer.byteLength(text);
    hash.update(Buffer.from(Int32Array.from(ids).buffer));
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    cpuSeconds: cpuSeconds() - cpu,
    texts: texts.length,
    tokens,
    textBytes,
    idsSha256: hash.digest('hex'),
  };
}

async function pipeline(): Promise<object> {
  const pool = new IngestPool({ threads: Number(values.threads) });
  const logger = createLogger({ level: 'warn' });
  const request = {
    datasetUri: dataset,
    tokenizerRef: 'llama2',
    seqLen,
    taskType,
    tokenizerBackend: backend,
  };
  const context = { pool, cacheDir: values['cache-dir'] as string, logger };
  try {
    const cpu = cpuSeconds();
    const started = performance.now();
    const built = await ingestDataset(request, context);
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = cpuSeconds() - cpu;
    // Several hits: the first ones after a build can include a garbage-collection pause.
    const hits: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const again = await ingestDataset(request, context);
      if (!again.cacheHit) throw new Error('the same request again was not a cache hit');
      hits.push(performance.now() - started);
    }
    // Warm: another split seed is another key, so the whole corpus is tokenized again, now with
    // the threads started and the tokenizer built: the service's steady-state speed.
    const warmCpu = cpuSeconds();
    const warmStarted = performance.now();
    await ingestDataset({ ...request, seed: 7 }, context);
    const warmSeconds = (performance.now() - warmStarted) / 1000;
    return {
      seconds,
      cpuSeconds: cpuUsed,
      warmSeconds,
      warmCpuSeconds: cpuSeconds() - warmCpu,
      tokens: built.stats.tokens,
      rows: built.stats.rows,
      fileBytes: built.stats.bytes,
      hitsMs: hits,
      key: built.manifest.key,
    };
  } finally {
    await pool.close();
  }
}

async function hit(): Promise<object> {
  const pool = new IngestPool({ threads: 1 });
  const logger = createLogger({ level: 'warn' });
  const request = {
    datasetUri: dataset,
    tokenizerRef: 'llama2',
    seqLen,
    taskType,
    tokenizerBackend: backend,
  };
  try {
    const started = performance.now();
    const outcome = await ingestDataset(request, {
      pool,
      cacheDir: values['cache-dir'] as string,
      logger,
    });
    return { hitMs: performance.now() - started, hit: outcome.cacheHit };
  } finally {
    await pool.close();
  }
}

const modes: Record<string, () => Promise<object>> = { raw, pipeline, hit };
const load = loadavg()[0];
const result = await (modes[values.mode as string] as () => Promise<object>)();
console.log(
  JSON.stringify({
    ...result,
    peakRssMiB: peakRssMiB(),
    loadBefore: load,
    loadAfter: loadavg()[0],
  }),
);
