/**
 * One measurement of the ingest bench, run in its own process so that its peak RSS is its own:
 *
 *   raw       single-thread encode of the texts (already in memory) with one backend, repeated;
 *             the library alone, or with --piece-cache through the pipeline's piece cache
 *   pipeline  the full pipeline on a fresh cache with N threads (cold), the same request again
 *             (cache hits), then the corpus again under other split seeds (warm), repeated;
 *             with --paired, each warm build follows a raw encode in the same process and, for
 *             N > 1, N raw encodes running at once (what N cores give the encoder right then)
 *             --no-piece-cache runs the pipeline's threads without their piece cache
 *   hit       the same request in a fresh process, against a cache a pipeline run left
 *
 * Prints one JSON object on stdout.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeHeads } from '../../src/ingest/encode-text.js';
import { ingestDataset, type IngestContext } from '../../src/ingest/ingest-dataset.js';
import { IngestPool } from '../../src/ingest/ingest-pool.js';
import { locateBytes } from '../../src/ingest/sources/byte-source.js';
import { RecordSource } from '../../src/ingest/sources/record-source.js';
import {
  openEncoder,
  type TokenEncoder,
  type TokenizerBackend,
} from '../../src/ingest/token-encoder.js';
import { batchesOf } from '../../src/ingest/tokenize-source.js';
import { loadTokenizer } from '../../src/ingest/tokenizer-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { measure, type Measured } from './cpu-window.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    dataset: { type: 'string' },
    task: { type: 'string' },
    'seq-len': { type: 'string' },
    threads: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'native' },
    'cache-dir': { type: 'string' },
    repeat: { type: 'string', default: '1' },
    paired: { type: 'boolean', default: false },
    'piece-cache': { type: 'boolean', default: false },
    'no-piece-cache': { type: 'boolean', default: false },
  },
});
const dataset = values.dataset as string;
const taskType = values.task as 'classification' | 'generation';
const seqLen = Number(values['seq-len']);
const backend = values.backend as TokenizerBackend;
const repeat = Number(values.repeat);

/** A measurement without its value, as the bench reads it. */
type Timing = Omit<Measured<unknown>, 'value'>;

function timing({ value: _, ...rest }: Measured<unknown>): Timing {
  return rest;
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function readTexts(): Promise<string[]> {
  const records = new RecordSource(await locateBytes(dataset, undefined), {
    format: 'jsonl',
    requireLabel: taskType === 'classification',
  });
  const texts: string[] = [];
  for await (const record of records) texts.push(record.text);
  return texts;
}

/** The raw encode, ready to run: texts in memory, batches cut, the tokenizer built. */
interface RawBench {
  texts: string[];
  encodeAll: () => Promise<number[][]>;
  /**
   * `lanes` whole raw encodes at once, each with a tokenizer of its own, as each pipeline thread
   * has (one tokenizer shared by concurrent calls would also share its internal cache). The
   * library runs each call on the libuv pool, so the lanes encode in parallel.
   */
  encodeLanes: (lanes: number) => Promise<void>;
}

/**
 * The tokenizer alone on one thread: the library calls the pipeline's threads make (one batch
 * encode per round of the same batches: whole documents for generation, `seq_len` heads for
 * classification), nothing else. Counting and hashing the ids happen after the clock stops.
 */
async function prepareRaw(lanes: number, pieceCache: boolean): Promise<RawBench> {
  const texts = await readTexts();
  const batches = [...batchesOf(texts)];
  const tokenizer = await loadTokenizer('llama2');
  const options = { pieceCache };
  const open = () => openEncoder('llama2', backend, tokenizer.files, tokenizer.sha256, options);
  const encoders = await Promise.all(Array.from({ length: lanes }, open));
  const encodeWith = async (encoder: TokenEncoder): Promise<number[][]> => {
    const all: number[][] = [];
    for (const batch of batches) {
      const ids =
        taskType === 'classification'
          ? (await encodeHeads(encoder, tokenizer.wordBounded, batch, seqLen)).map((h) => h.ids)
          : await encoder.encodeBatch(batch);
      all.push(...ids);
    }
    return all;
  };
  const [first] = encoders as [TokenEncoder, ...TokenEncoder[]];
  return {
    texts,
    encodeAll: () => encodeWith(first),
    encodeLanes: async (count) => {
      await Promise.all(encoders.slice(0, count).map(encodeWith));
    },
  };
}

async function raw(): Promise<object> {
  const { texts, encodeAll } = await prepareRaw(1, values['piece-cache'] === true);
  const runs: Timing[] = [];
  let ids: number[][] = [];
  for (let i = 0; i < repeat; i += 1) {
    ids = [];
    const run = await measure(encodeAll);
    ids = run.value;
    runs.push(timing(run));
  }
  const hash = createHash('sha256');
  for (const row of ids) hash.update(Buffer.from(Int32Array.from(row).buffer));
  return {
    runs,
    texts: texts.length,
    tokens: ids.reduce((sum, row) => sum + row.length, 0),
    textBytes: texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
    idsSha256: hash.digest('hex'),
  };
}

function request(seed?: number) {
  return {
    datasetUri: dataset,
    tokenizerRef: 'llama2',
    seqLen,
    taskType,
    tokenizerBackend: backend,
    ...(seed === undefined ? {} : { seed }),
  };
}

async function pipeline(): Promise<object> {
  const threads = Number(values.threads);
  const pool = new IngestPool({ threads, pieceCache: values['no-piece-cache'] !== true });
  const logger = createLogger({ level: 'warn' });
  const context: IngestContext = { pool, cacheDir: values['cache-dir'] as string, logger };
  try {
    const cold = await measure(() => ingestDataset(request(), context));
    // Several hits: the first ones after a build can include a garbage-collection pause.
    const hitsMs: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const again = await measure(() => ingestDataset(request(), context));
      if (!again.value.cacheHit) throw new Error('the same request again was not a cache hit');
      hitsMs.push(again.seconds * 1000);
    }
    // Paired: the raw encode runs in this process just before each warm build, so that each
    // ratio compares two measurements taken under the same conditions; a shared machine's speed
    // drifts by tens of percent between minutes. It is prepared after the cold build, which must
    // not find the tokenizer already read.
    const rawBench = values.paired === true ? await prepareRaw(threads, false) : undefined;
    // Warm: another split seed is another key, so the whole corpus is tokenized again, now with
    // the threads started and the tokenizer built: the service's steady-state speed.
    const warm: Timing[] = [];
    const pairedRaw: Timing[] = [];
    const pairedLanes: Timing[] = [];
    for (let i = 0; i < repeat; i += 1) {
      if (rawBench !== undefined) {
        pairedRaw.push(timing(await measure(rawBench.encodeAll)));
        if (threads > 1) {
          pairedLanes.push(timing(await measure(() => rawBench.encodeLanes(threads))));
        }
      }
      warm.push(timing(await measure(() => ingestDataset(request(7 + i), context))));
    }
    const lanes = pairedLanes.length > 0 ? { lanes: pairedLanes } : {};
    const paired = rawBench === undefined ? {} : { paired: { single: pairedRaw, ...lanes } };
    return { cold: timing(cold), warm, ...paired, tokens: cold.value.stats.tokens, hitsMs };
  } finally {
    await pool.close();
  }
}

async function hit(): Promise<object> {
  const pool = new IngestPool({ threads: 1 });
  const logger = createLogger({ level: 'warn' });
  try {
    const context = { pool, cacheDir: values['cache-dir'] as string, logger };
    const outcome = await measure(() => ingestDataset(request(), context));
    return { hitMs: outcome.seconds * 1000, hit: outcome.value.cacheHit };
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
