import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { LocalArtifactStore } from '../artifacts/local-artifact-store.js';
import { trialsPrefix } from '../artifacts/artifact-key.js';
import { S3ArtifactStore } from '../artifacts/s3-artifact-store.js';
import { AmqpBus } from '../bus/amqp-bus.js';
import { MemoryBus } from '../bus/memory-bus.js';
import { systemClock } from '../clock/clock.js';
import type { ExecutorConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { createTrialStore } from '../store/create-trial-store.js';
import type { TrialStore } from '../store/trial-store.js';
import type { ExecutorOptions, ExecutorRuntime, ShutdownMode } from './executor.js';
import { ShardService } from './shard-service.js';
import { ZmqWorkerLauncher } from './zmq-worker-launcher.js';

/** The embedded database of `automat0 run`, inside the work folder. */
export const embeddedDatabasePath = (config: ExecutorConfig): string =>
  join(config.workDir, 'automat0.sqlite');

/** Opens and migrates the store: Postgres for `server`, SQLite in the work folder for `embedded`. */
export async function openStore(
  config: ExecutorConfig,
  logger: Logger,
  kind: 'server' | 'embedded',
  options: { migrate?: boolean } = {},
): Promise<TrialStore> {
  await mkdir(config.workDir, { recursive: true });
  const store =
    kind === 'server'
      ? createTrialStore({ url: config.databaseUrl, schema: config.databaseSchema, logger })
      : createTrialStore({ url: `sqlite:${embeddedDatabasePath(config)}`, logger });
  if (options.migrate ?? true) await store.migrate();
  return store;
}

/** RabbitMQ, Postgres and S3 (or local checkpoints when no S3 endpoint is configured). */
export async function createServerRuntime(
  config: ExecutorConfig,
  logger: Logger,
): Promise<ExecutorRuntime> {
  const store = await openStore(config, logger, 'server');
  const bus = await AmqpBus.connect({ url: config.amqpUrl, names: config.busNames, logger });
  return assemble(config, logger, store, bus, artifactStore(config, logger));
}

/** No servers: an in-process bus, SQLite and checkpoints on local disk, all in the work folder. */
export async function createEmbeddedRuntime(
  config: ExecutorConfig,
  logger: Logger,
): Promise<ExecutorRuntime> {
  const store = await openStore(config, logger, 'embedded');
  const artifacts = new LocalArtifactStore({ root: join(config.workDir, 'artifacts') });
  return assemble(config, logger, store, new MemoryBus(), artifacts);
}

/** `shutdown`: `hand_over` for `serve` (other executors share its queue), `cancel` for `run`. */
export function executorOptions(
  config: ExecutorConfig,
  concurrency: number,
  shutdown: ShutdownMode,
): ExecutorOptions {
  return {
    concurrency,
    shutdown,
    stopGraceMs: config.stopGraceMs,
    startupTimeoutMs: config.startupTimeoutMs,
    checkpointDir: join(config.workDir, 'checkpoints'),
    policy: config.policy,
    executorId: config.executorId,
    leaseTtlMs: config.leaseTtlMs,
    storeOutageMs: config.storeOutageMs,
  };
}

function artifactStore(config: ExecutorConfig, logger: Logger): ArtifactStore {
  if (!config.s3) {
    logger.warn('no S3 endpoint configured; checkpoints stay on local disk');
    return new LocalArtifactStore({ root: join(config.workDir, 'artifacts') });
  }
  const { endpoint, region, accessKeyId, secretAccessKey, bucket, prefix } = config.s3;
  return new S3ArtifactStore({
    endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey },
    bucket,
    prefix: trialsPrefix(prefix, config.databaseSchema),
    logger,
  });
}

function assemble(
  config: ExecutorConfig,
  logger: Logger,
  store: TrialStore,
  bus: ExecutorRuntime['bus'],
  artifacts: ArtifactStore,
): ExecutorRuntime {
  return {
    store,
    bus,
    artifacts,
    ingest: new ShardService({
      cacheDir: join(config.workDir, 'shards'),
      logger,
      ...(config.ingestThreads ? { threads: config.ingestThreads } : {}),
      ...(config.s3 ? { s3: config.s3 } : {}),
    }),
    launcher: new ZmqWorkerLauncher({ logger }),
    clock: systemClock,
    logger,
  };
}
