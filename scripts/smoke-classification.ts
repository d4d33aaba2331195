/**
 * `npm run smoke:classification`: the whole path against the real services. Starts
 * `automat0 serve`, publishes four malformed TrialSpecs and one SpamAssassin TrialSpec to
 * `automat.trials`, listens on `automat.heartbeats.#` and `automat.events.#`, stops the executor,
 * then checks the outcome in RabbitMQ, Postgres and S3. Exits 0 only if every check passes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/log/logger.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { formatEpochTable } from '../src/cli/print-trial.js';
import {
  check,
  headS3Prefix,
  loadS3Env,
  printChecks,
  processAlive,
  startExecutor,
  stopProcess,
  waitFor,
  type BusRecord,
} from './smoke/smoke-support.js';

const TIMEOUT_MS = 15 * 60_000;
const runId = `smoke-cls-${Date.now().toString(36)}`;
const schema = `smoke_${runId.replace(/-/g, '_')}`;

loadS3Env();
execFileSync(process.execPath, ['dist/scripts/prepare-spam-assassin.js', '--if-missing'], {
  stdio: 'inherit',
});
const config = loadConfig({ ...process.env, AUTOMAT_DB_SCHEMA: schema });
const logger = createLogger({ level: 'warn', format: 'pretty' });
const spec = {
  ...JSON.parse(readFileSync('examples/spam-assassin.trial.json', 'utf8')),
  trial_id: runId,
};

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

const executorEnv = { ...process.env, AUTOMAT_DB_SCHEMA: schema };
const executor = await startExecutor(executorEnv, `.automat/logs/${runId}.log`);
console.log(`executor pid ${executor.pid}, log .automat/logs/${runId}.log, trial ${runId}`);

const malformed: Array<[string, Buffer]> = [
  ['not JSON', Buffer.from(`{"trial_id": "${runId}-bad-json", `)],
  ['missing field', json({ ...spec, trial_id: `${runId}-bad-missing`, dataset_uri: undefined })],
  ['wrong type', json({ ...spec, trial_id: `${runId}-bad-type`, seq_len: 'abc' })],
  ['unknown task_type', json({ ...spec, trial_id: `${runId}-bad-task`, task_type: 'translation' })],
];
for (const [, body] of malformed) await bus.submit(body);
await bus.submit(spec);

const results: Array<[string, boolean, string]> = [];
let exitCode: number | null = null;
try {
  await waitFor(
    () => received.some((r) => r.message.type === 'trial.promotion_candidate'),
    TIMEOUT_MS,
    'the promotion candidate',
  );
} finally {
  exitCode = await stopProcess(executor);
  for (const s of subscriptions) await s.close();
  await bus.close();
}

const store = new PostgresTrialStore({ connectionString: config.databaseUrl, schema, logger });
const trial = await store.getTrial(runId);
const epochs = await store.listEpochs(runId);
await store.close();

const messages = received.map((r) => r.message);
const types = messages.map((m) => String(m.type));
const epochBeats = messages.filter((m) => m.type === 'heartbeat.epoch');
const promotion = messages.find((m) => m.type === 'trial.promotion_candidate') ?? {};
const best = promotion.best_metric as { value: number | null; epoch: number | null } | undefined;
const checkpointUri = promotion.checkpoint_uri as string | null | undefined;
const hello = messages.find((m) => m.type === 'heartbeat.hello');
const seqs = messages.map((m) => Number(m.seq));
const s3 = checkpointUri ? await headS3Prefix(checkpointUri) : { objects: 0, bytes: 0 };
const deadLetters = await collectDeadLetters(config.amqpUrl, config.busNames.deadLetterQueue);

check(
  results,
  'terminal success state',
  ['completed', 'early_stopped'].includes(String(trial?.state)),
  `state=${trial?.state}`,
);
check(
  results,
  'best val_accuracy >= 0.90',
  (best?.value ?? 0) >= 0.9,
  `best=${best?.value} at epoch ${best?.epoch}`,
);
check(
  results,
  'one Postgres row per epoch',
  epochs.length === epochBeats.length && epochs.length > 0,
  `${epochs.length} rows, ${epochBeats.length} epoch heartbeats`,
);
check(
  results,
  'best checkpoint in S3',
  s3.bytes > 0,
  `${checkpointUri}: ${s3.objects} objects, ${s3.bytes} bytes`,
);
check(
  results,
  'bus: hello, epochs, checkpoint, final, promotion',
  [
    'heartbeat.hello',
    'heartbeat.epoch',
    'heartbeat.checkpoint',
    'heartbeat.final',
    'trial.promotion_candidate',
  ].every((t) => types.includes(t)),
  types.filter((t) => t.startsWith('heartbeat') || t.includes('promotion')).join(' '),
);
check(
  results,
  'bus messages arrive in seq order',
  seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? -1)),
  `${seqs.length} messages, seq ${seqs[0]}..${seqs.at(-1)}`,
);
check(
  results,
  'final before promotion_candidate',
  types.indexOf('heartbeat.final') < types.indexOf('trial.promotion_candidate'),
  '',
);
check(
  results,
  'worker process gone',
  hello ? !processAlive(Number(hello.pid)) : false,
  `pid ${hello?.pid}`,
);
check(results, 'executor stopped cleanly', exitCode === 0, `exit code ${exitCode}`);
for (const [what] of malformed) {
  const found = deadLetters.find((d) => d.kind === what);
  check(
    results,
    `dead-lettered: ${what}`,
    Boolean(found?.reason),
    found ? `${found.field ?? '-'}: ${found.reason}` : 'not found',
  );
}

console.log(`\n${formatEpochTable(epochs, spec.primary_metric)}\n`);
const ok = printChecks(results);
await dropSchema(config.databaseUrl, schema);
process.exit(ok ? 0 : 1);

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Takes this run's messages off the dead-letter queue (others are put back) with their reasons. */
async function collectDeadLetters(url: string, queue: string) {
  const kinds: Record<string, string> = {
    'bad-json': 'not JSON',
    'bad-missing': 'missing field',
    'bad-type': 'wrong type',
    'bad-task': 'unknown task_type',
  };
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createChannel();
  const found: Array<{ kind: string; field?: string; reason?: string }> = [];
  const others: amqp.GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: false });
    if (!message) break;
    const body = message.content.toString('utf8');
    const kind = Object.entries(kinds).find(([tag]) => body.includes(`${runId}-${tag}`))?.[1];
    if (!kind) {
      others.push(message);
      continue;
    }
    const headers = message.properties.headers ?? {};
    found.push({
      kind,
      field: headers['x-automat-error-field'] as string | undefined,
      reason: headers['x-automat-error-message'] as string | undefined,
    });
    channel.ack(message);
  }
  for (const message of others) channel.nack(message, false, true);
  await channel.close();
  await connection.close();
  return found;
}

async function dropSchema(url: string, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await client.end();
}
