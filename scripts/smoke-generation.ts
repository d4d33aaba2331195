/**
 * `npm run smoke:generation`: a language-model trial and a planner's cancel, end to end against
 * the real services. Writes the SOTU slice, checks the committed tokenizer against its recipe,
 * starts `automat0 serve`, publishes examples/sotu.trial.json to `automat.trials`, lets two
 * epochs finish, cancels with `automat0 cancel` (the control queue), then checks the outcome on
 * the bus, in Postgres and in S3, and compares the best perplexity with a unigram model of the
 * training split. Exits 0 only if every check passes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { trialsPrefix } from '../src/artifacts/artifact-key.js';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { formatEpochTable } from '../src/cli/print-trial.js';
import { loadConfig } from '../src/config/config.js';
import { contracts } from '../src/contracts/index.js';
import { ShardService } from '../src/executor/shard-service.js';
import { readShards, type ShardSplitData } from '../src/ingest/shard-reader.js';
import { createLogger } from '../src/log/logger.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import {
  check,
  loadS3Env,
  printChecks,
  processAlive,
  s3Client,
  startExecutor,
  stopProcess,
  waitFor,
  type BusRecord,
} from './smoke/smoke-support.js';

const TIMEOUT_MS = 10 * 60_000;
const EPOCHS_BEFORE_CANCEL = 2;
const runId = `smoke-gen-${Date.now().toString(36)}`;
const schema = `smoke_${runId.replace(/-/g, '_')}`;
const started = Date.now();
const node = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

loadS3Env();
node('dist/scripts/prepare-sotu.js');
const tokenizerCheck = spawnSync(
  process.execPath,
  ['dist/scripts/train-sotu-tokenizer.js', '--check'],
  {
    encoding: 'utf8',
  },
);
const config = loadConfig({ ...process.env, AUTOMAT_DB_SCHEMA: schema });
const logger = createLogger({ level: 'warn', format: 'pretty' });
const spec = contracts.trialSpec.parse({
  ...JSON.parse(readFileSync('examples/sotu.trial.json', 'utf8')),
  trial_id: runId,
});
const trial = resolveTrialSpec(spec);

const bus = await AmqpBus.connect({ url: config.amqpUrl, names: config.busNames, logger });
const received: BusRecord[] = [];
const keep = (routingKey: string, message: unknown) => {
  const m = message as Record<string, unknown>;
  if (m.trial_id === runId) received.push({ routingKey, message: m });
};
const subscriptions = [
  await bus.subscribe('automat.heartbeats.#', keep),
  await bus.subscribe('automat.events.#', keep),
];
const of = (type: string) => received.map((r) => r.message).filter((m) => m.type === type);

const logFile = `.automat/logs/${runId}.log`;
const executor = await startExecutor({ ...process.env, AUTOMAT_DB_SCHEMA: schema }, logFile);
console.log(`executor pid ${executor.pid}, log ${logFile}, trial ${runId}`);
await bus.submit(spec);

let exitCode: number | null = null;
let cancel = { code: -1, output: '', sentAfterEpochs: 0 };
try {
  // Epoch n's checkpoint heartbeat comes after its checkpoint; the worker is then in epoch n+1.
  await waitFor(
    () => of('heartbeat.checkpoint').length >= EPOCHS_BEFORE_CANCEL,
    TIMEOUT_MS,
    `${EPOCHS_BEFORE_CANCEL} epochs and their checkpoints`,
  );
  const sentAfterEpochs = of('heartbeat.epoch').length;
  const cli = spawnSync(
    process.execPath,
    ['dist/src/cli/main.js', 'cancel', runId, '--reason', 'smoke: seen enough', '--timeout', '30'],
    { encoding: 'utf8', env: { ...process.env, AUTOMAT_LOG_LEVEL: 'warn' } },
  );
  cancel = { code: cli.status ?? -1, output: (cli.stdout + cli.stderr).trim(), sentAfterEpochs };
  console.log(`cancel sent after ${sentAfterEpochs} epochs: ${cancel.output}`);
  await waitFor(
    () => of('trial.promotion_candidate').length > 0,
    TIMEOUT_MS,
    'the promotion candidate',
  );
} finally {
  exitCode = await stopProcess(executor);
  for (const s of subscriptions) await s.close();
  await bus.close();
}

const store = new PostgresTrialStore({ connectionString: config.databaseUrl, schema, logger });
const stored = await store.getTrial(runId);
const epochs = await store.listEpochs(runId);
await store.close();

// The shards the trial trained on: a cache hit in the executor's work folder.
const shards = new ShardService({ cacheDir: join(config.workDir, 'shards'), logger });
const { manifestPath } = await shards.ingest({
  datasetUri: spec.dataset_uri,
  tokenizerRef: spec.tokenizer_ref,
  seqLen: spec.seq_len,
  taskType: spec.task_type,
  valFraction: trial.valFraction,
  seed: trial.splitSeed,
});
await shards.close();
const data = await readShards(manifestPath);
const unigram = unigramPerplexity(
  data.train,
  data.validation,
  data.manifest.seq_len,
  data.manifest.tokenizer.vocab_size,
);

const messages = received.map((r) => r.message);
const types = messages.map((m) => String(m.type));
const perplexities = of('heartbeat.epoch').map((m) => {
  const metrics = m.metrics as { val_perplexity: number; tokens_per_s: number };
  return { epoch: Number(m.epoch), ppl: metrics.val_perplexity, tps: metrics.tokens_per_s };
});
const promotion = of('trial.promotion_candidate')[0] ?? {};
const best = promotion.best_metric as { value: number | null; epoch: number | null } | undefined;
const final = of('heartbeat.final')[0] ?? {};
const hello = of('heartbeat.hello')[0];
const lastEpoch = Math.max(0, ...perplexities.map((p) => p.epoch));
const lastCheckpoint = await listS3(
  `${trialsPrefix(config.s3?.prefix ?? 'automat0', config.databaseSchema)}/${runId}/1/epoch-${lastEpoch}/`,
);
const seqs = messages.map((m) => Number(m.seq));
const firstPpl = perplexities[0]?.ppl ?? Number.NaN;

const results: Array<[string, boolean, string]> = [];
check(
  results,
  'tokenizer matches its recipe',
  tokenizerCheck.status === 0,
  tokenizerCheck.stdout.trim().split('\n').at(-1) ?? '',
);
check(
  results,
  `>= ${EPOCHS_BEFORE_CANCEL} epochs before the cancel`,
  cancel.sentAfterEpochs >= EPOCHS_BEFORE_CANCEL,
  `cancel sent after ${cancel.sentAfterEpochs} epochs`,
);
check(results, 'automat0 cancel accepted', cancel.code === 0, cancel.output);
check(
  results,
  'trial ended cancelled',
  stored?.state === 'cancelled' && promotion.stop_reason === 'cancelled',
  `state=${stored?.state} stop_reason=${String(promotion.stop_reason)}`,
);
check(
  results,
  'the running epoch finished',
  lastEpoch === cancel.sentAfterEpochs + 1,
  `epochs ${perplexities.map((p) => p.epoch).join(', ')}`,
);
check(
  results,
  'perplexity fell from epoch 1 to the best',
  best?.value != null && best.value < firstPpl && best.epoch !== 1,
  `epoch 1: ${firstPpl.toFixed(1)}, best: ${best?.value?.toFixed(1)} at epoch ${best?.epoch}`,
);
check(
  results,
  'best below the unigram baseline',
  best?.value != null && best.value < unigram.perplexity,
  `${best?.value?.toFixed(1)} < ${unigram.perplexity.toFixed(1)}`,
);
check(
  results,
  'one Postgres row per epoch',
  epochs.length === perplexities.length && epochs.length > 0,
  `${epochs.length} rows, ${perplexities.length} epoch heartbeats`,
);
check(results, 'last checkpoint in S3', lastCheckpoint.ok, lastCheckpoint.detail);
check(
  results,
  'final (cancelled) and promotion_candidate published',
  final.status === 'cancelled' &&
    types.includes('trial.promotion_candidate') &&
    types.indexOf('heartbeat.final') < types.indexOf('trial.promotion_candidate'),
  `final.status=${String(final.status)}`,
);
check(
  results,
  'bus messages arrive in seq order',
  seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? -1)),
  `${seqs.length} messages`,
);
check(
  results,
  'worker process gone',
  hello ? !processAlive(Number(hello.pid)) : false,
  `pid ${hello?.pid}`,
);
check(results, 'executor stopped cleanly', exitCode === 0, `exit code ${exitCode}`);

console.log(`\n${formatEpochTable(epochs, spec.primary_metric)}\n`);
for (const p of perplexities) {
  console.log(
    `epoch ${p.epoch}: val_perplexity ${p.ppl.toFixed(2)}, ${Math.round(p.tps)} tokens/s`,
  );
}
console.log(
  `unigram baseline: val_perplexity ${unigram.perplexity.toFixed(2)} (add-one smoothed counts of ` +
    `${unigram.trainTokens} training tokens, scored on the same ${unigram.validationTokens} ` +
    'validation targets as the model)',
);
console.log(`wall time ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
const ok = printChecks(results);
await dropSchema(config.databaseUrl, schema);
process.exit(ok ? 0 : 1);

/**
 * Perplexity on the validation targets of a model that predicts every token with its training
 * frequency: counts of the training targets plus one for every id (add-one smoothing, so an id
 * never seen in training still has a probability). Scored on exactly the tokens the model is
 * scored on: positions 1..seq_len of every validation block.
 */
function unigramPerplexity(
  train: ShardSplitData,
  validation: ShardSplitData,
  columns: number,
  vocab: number,
): { perplexity: number; trainTokens: number; validationTokens: number } {
  const counts = new Float64Array(vocab).fill(1);
  let total = vocab;
  forEachTarget(train, columns, (id) => {
    counts[id] = (counts[id] as number) + 1;
    total += 1;
  });
  let negLogLikelihood = 0;
  let scored = 0;
  forEachTarget(validation, columns, (id) => {
    negLogLikelihood -= Math.log((counts[id] as number) / total);
    scored += 1;
  });
  return {
    perplexity: Math.exp(negLogLikelihood / scored),
    trainTokens: total - vocab,
    validationTokens: scored,
  };
}

function forEachTarget(split: ShardSplitData, columns: number, visit: (id: number) => void): void {
  for (let row = 0; row < split.rows; row++) {
    for (let col = 1; col < columns; col++) visit(split.tokens[row * columns + col] as number);
  }
}

/**
 * The checkpoint under an S3 folder: its three files are there, and the two binaries have the
 * sizes its uploaded manifest (checkpoint.json) lists.
 */
async function listS3(prefix: string): Promise<{ ok: boolean; detail: string }> {
  const bucket = config.s3?.bucket ?? 'automat0';
  const where = `s3://${bucket}/${prefix}`;
  const client = s3Client();
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const names = (listed.Contents ?? []).map((o) => String(o.Key).slice(prefix.length)).sort();
    const manifest = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `${prefix}checkpoint.json` }),
    );
    const files =
      (
        JSON.parse((await manifest.Body?.transformToString()) ?? '{}') as {
          files?: Array<{ file: string; bytes: number }>;
        }
      ).files ?? [];
    let sizesMatch = files.length === 2;
    for (const file of files) {
      const head = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: prefix + file.file }),
      );
      sizesMatch &&= head.ContentLength === file.bytes;
    }
    const ok = ['checkpoint.json', 'optimizer.bin', 'weights.bin'].every((n) => names.includes(n));
    const sizes = sizesMatch ? 'sizes match the manifest' : 'sizes differ from the manifest';
    return { ok: ok && sizesMatch, detail: `${where}: ${names.join(', ')}; ${sizes}` };
  } catch (error) {
    return { ok: false, detail: `${where}: ${String(error)}` };
  } finally {
    client.destroy();
  }
}

async function dropSchema(url: string, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await client.end();
}
