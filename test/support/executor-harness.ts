import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { S3ArtifactStore } from '../../src/artifacts/s3-artifact-store.js';
import { AmqpBus } from '../../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../../src/bus/assert-bus-topology.js';
import {
  busTopology,
  busTopologyNames,
  type BusTopologyNames,
} from '../../src/bus/bus-topology.js';
import { systemClock } from '../../src/clock/clock.js';
import { Executor, type ExecutorOptions } from '../../src/executor/executor.js';
import { ShardService } from '../../src/executor/shard-service.js';
import { ZmqWorkerLauncher } from '../../src/executor/zmq-worker-launcher.js';
import { silentLogger } from '../../src/log/logger.js';
import { PostgresTrialStore } from '../../src/store/postgres-trial-store.js';
import { deleteS3Prefix, loadS3Env } from './s3-env.js';

export const AMQP_URL = process.env.AUTOMAT_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DATABASE_URL =
  process.env.AUTOMAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A real executor on the real services, under names no other test uses. */
export interface ExecutorHarness {
  id: string;
  names: BusTopologyNames;
  schema: string;
  s3Prefix: string;
  workDir: string;
  executor: Executor;
  bus: AmqpBus;
  store: PostgresTrialStore;
  cleanup(): Promise<void>;
}

/**
 * With `share`, a second executor on the same schema, bus names and S3 prefix as `share`'s (as
 * on another machine: its own work folder); its cleanup leaves the shared resources to `share`'s,
 * which must run after it.
 */
export async function startExecutorHarness(
  options: Partial<ExecutorOptions> = {},
  share?: ExecutorHarness,
): Promise<ExecutorHarness> {
  const id = share?.id ?? `t${randomBytes(4).toString('hex')}`;
  const names = share?.names ?? busTopologyNames(`automat-test-${id}`);
  const schema = share?.schema ?? `test_${id}`;
  const s3Prefix = share?.s3Prefix ?? `test/${id}`;
  const workDir = await mkdtemp(join(tmpdir(), `automat0-${id}-`));
  const logger = silentLogger;
  const s3 = loadS3Env();

  const store = new PostgresTrialStore({ connectionString: DATABASE_URL, schema, logger });
  await store.migrate();
  const bus = await AmqpBus.connect({ url: AMQP_URL, names, logger });
  const artifacts = new S3ArtifactStore({ ...s3, prefix: s3Prefix, logger });
  const runtime = {
    store,
    bus,
    artifacts,
    ingest: new ShardService({ cacheDir: join(workDir, 'shards'), logger }),
    launcher: new ZmqWorkerLauncher({ logger }),
    clock: systemClock,
    logger,
  };
  const executor = new Executor(runtime, {
    concurrency: 2,
    stopGraceMs: 10_000,
    startupTimeoutMs: 60_000,
    checkpointDir: join(workDir, 'checkpoints'),
    closeTimeoutMs: 30_000,
    shutdown: 'cancel',
    ...options,
  });

  const cleanup = async () => {
    await executor.close();
    if (share) return rm(workDir, { recursive: true, force: true });
    const connection = await amqp.connect(AMQP_URL);
    await deleteBusTopology(await connection.createChannel(), busTopology(names));
    await connection.close();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    await deleteS3Prefix(s3, s3Prefix);
    await rm(workDir, { recursive: true, force: true });
  };
  return { id, names, schema, s3Prefix, workDir, executor, bus, store, cleanup };
}

/** A TrialSpec for the synthetic dataset; override what a test is about. */
export function syntheticSpec(trialId: string, datasetPath: string, overrides: object = {}) {
  return {
    trial_id: trialId,
    task_type: 'classification',
    tokenizer_ref: 'llama2',
    device_profile: 'cpu',
    seq_len: 16,
    embed_dim: 16,
    budget_seconds: 120,
    dataset_uri: datasetPath,
    primary_metric: 'val_accuracy',
    hparams: { epochs: 3, batch_size: 32, learning_rate: 0.05 },
    ...overrides,
  };
}
