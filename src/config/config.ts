import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_BUS_NAMES, type BusTopologyNames } from '../bus/bus-topology.js';
import type { LogLevel } from '../log/logger.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { PENDING_CANCEL_TTL_MS } from '../executor/pending-cancel.js';
import { POLICY_DEFAULTS, type PolicySettings } from '../trial/trial-settings.js';

/** S3 settings; all of endpoint, credentials and bucket come from the environment. */
export interface S3Config {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Key prefix under which checkpoints are stored. Default `automat0`. */
  prefix: string;
}

export interface ExecutorConfig {
  /** Default `amqp://guest:guest@127.0.0.1:5672`, or `AUTOMAT_AMQP_URL`. */
  amqpUrl: string;
  /** Default `postgres://postgres@127.0.0.1:5432/postgres`, or `AUTOMAT_DATABASE_URL`. */
  databaseUrl: string;
  /** Postgres schema holding Automat0's tables. Default `automat`, or `AUTOMAT_DB_SCHEMA`. */
  databaseSchema: string;
  /** Undefined when no S3 endpoint is configured: artifacts then stay on local disk. */
  s3: S3Config | undefined;
  /** Shard cache, local checkpoints and the embedded database. Default `.automat`. */
  workDir: string;
  /** Trials run at once; default: the device profile's concurrency. */
  concurrency: number | undefined;
  /** Ingest threads. Default: available parallelism. */
  ingestThreads: number | undefined;
  /** Grace after a graceful stop request before the worker is killed. Default 30 s. */
  stopGraceMs: number;
  /** Time a launched worker has to say hello. Default 120 s. */
  startupTimeoutMs: number;
  /**
   * Liveness, retry and memory settings (docs/policies.md): `AUTOMAT_HEARTBEAT_TIMEOUT_MS`
   * (default 60 s), `AUTOMAT_PROGRESS_FACTOR` (3), `AUTOMAT_PROGRESS_MIN_MS` (120 s),
   * `AUTOMAT_FIRST_EPOCH_TIMEOUT_MS` (1 h), `AUTOMAT_RETRY_BASE_MS` (1 s), `AUTOMAT_RETRY_MAX_MS`
   * (60 s) and `AUTOMAT_WORKER_MEMORY_MIB` (the device profile's memory).
   */
  policy: PolicySettings;
  busNames: BusTopologyNames;
  /**
   * `AUTOMAT_LOG_LEVEL`; undefined when unset, and then each command picks its own default
   * (`info` for serve and run, `warn` for the short commands that print a result).
   */
  logLevel: LogLevel | undefined;
  /**
   * Folders that local dataset and tokenizer paths in a TrialSpec must stay inside. Default:
   * the working folder, or `AUTOMAT_INPUT_ROOTS` (separated by `:`).
   */
  inputRoots: string[];
  /** URI schemes a TrialSpec may use besides local paths. Default `s3`, or `AUTOMAT_INPUT_SCHEMES`. */
  inputSchemes: string[];
  /**
   * This executor's id in trial leases, `AUTOMAT_EXECUTOR_ID`. Default: the host name and a hash
   * of the work folder, which stays the same across restarts, so a restarted executor takes its
   * own trials back at once. Two executors must never share one.
   */
  executorId: string;
  /** A trial lease's lifetime, `AUTOMAT_LEASE_TTL_MS`. Default 30 s. */
  leaseTtlMs: number;
  /** How long store calls retry through a database outage, `AUTOMAT_STORE_OUTAGE_MS`. 5 min. */
  storeOutageMs: number;
  /**
   * How long a cancel for a trial whose spec has not arrived is kept,
   * `AUTOMAT_PENDING_CANCEL_TTL_MS`. Default 7 days.
   */
  pendingCancelTtlMs: number;
  /**
   * Port of the health endpoint `GET /healthz` on 127.0.0.1, `AUTOMAT_HEALTH_PORT`; undefined
   * (the default) serves none. 0 picks a free port, which the log names.
   */
  healthPort: number | undefined;
}

type Env = Record<string, string | undefined>;

/** Reads the configuration from the environment; nothing else in the code reads `process.env`. */
export function loadConfig(env: Env = process.env): ExecutorConfig {
  const workDir = resolve(text(env.AUTOMAT_WORK_DIR) ?? '.automat');
  return {
    amqpUrl: text(env.AUTOMAT_AMQP_URL) ?? 'amqp://guest:guest@127.0.0.1:5672',
    databaseUrl: text(env.AUTOMAT_DATABASE_URL) ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    databaseSchema: text(env.AUTOMAT_DB_SCHEMA) ?? 'automat',
    s3: loadS3(env),
    workDir,
    concurrency: optionalInt(env, 'AUTOMAT_CONCURRENCY', 1),
    // Tokenizing is CPU-bound: more threads than cores only cost memory.
    ingestThreads: optionalInt(env, 'AUTOMAT_INGEST_THREADS', 1, availableParallelism()),
    stopGraceMs: optionalInt(env, 'AUTOMAT_STOP_GRACE_MS') ?? 30_000,
    startupTimeoutMs: optionalInt(env, 'AUTOMAT_STARTUP_TIMEOUT_MS') ?? 120_000,
    policy: loadPolicy(env),
    busNames: {
      exchange: text(env.AUTOMAT_EXCHANGE) ?? DEFAULT_BUS_NAMES.exchange,
      intakeQueue: text(env.AUTOMAT_INTAKE_QUEUE) ?? DEFAULT_BUS_NAMES.intakeQueue,
      deadLetterExchange: text(env.AUTOMAT_DLX) ?? DEFAULT_BUS_NAMES.deadLetterExchange,
      deadLetterQueue: text(env.AUTOMAT_DEAD_LETTER_QUEUE) ?? DEFAULT_BUS_NAMES.deadLetterQueue,
      controlQueue: text(env.AUTOMAT_CONTROL_QUEUE) ?? DEFAULT_BUS_NAMES.controlQueue,
    },
    logLevel: logLevel(env.AUTOMAT_LOG_LEVEL),
    inputRoots: list(env.AUTOMAT_INPUT_ROOTS, ':') ?? [process.cwd()],
    // `none`: local paths and file:// only.
    inputSchemes:
      env.AUTOMAT_INPUT_SCHEMES?.trim() === 'none'
        ? []
        : (list(env.AUTOMAT_INPUT_SCHEMES, ',') ?? ['s3']),
    executorId: text(env.AUTOMAT_EXECUTOR_ID) ?? defaultExecutorId(workDir),
    leaseTtlMs: optionalInt(env, 'AUTOMAT_LEASE_TTL_MS', 1000) ?? 30_000,
    storeOutageMs: optionalInt(env, 'AUTOMAT_STORE_OUTAGE_MS') ?? 300_000,
    pendingCancelTtlMs:
      optionalInt(env, 'AUTOMAT_PENDING_CANCEL_TTL_MS', 1000) ?? PENDING_CANCEL_TTL_MS,
    healthPort: optionalInt(env, 'AUTOMAT_HEALTH_PORT', 1, 65_535),
  };
}

/** `<host>-<8 hex of the work folder>`: stable for one executor, distinct for two on a host. */
function defaultExecutorId(workDir: string): string {
  const digest = createHash('sha256').update(workDir).digest('hex').slice(0, 8);
  return `${hostname()}-${digest}`;
}

function loadPolicy(env: Env): PolicySettings {
  const d = POLICY_DEFAULTS;
  return {
    heartbeatTimeoutMs: optionalInt(env, 'AUTOMAT_HEARTBEAT_TIMEOUT_MS') ?? d.heartbeatTimeoutMs,
    progressFactor: optionalInt(env, 'AUTOMAT_PROGRESS_FACTOR') ?? d.progressFactor,
    progressMinMs: optionalInt(env, 'AUTOMAT_PROGRESS_MIN_MS') ?? d.progressMinMs,
    firstEpochTimeoutMs:
      optionalInt(env, 'AUTOMAT_FIRST_EPOCH_TIMEOUT_MS') ?? d.firstEpochTimeoutMs,
    retryBaseDelayMs: optionalInt(env, 'AUTOMAT_RETRY_BASE_MS') ?? d.retryBaseDelayMs,
    retryMaxDelayMs: optionalInt(env, 'AUTOMAT_RETRY_MAX_MS') ?? d.retryMaxDelayMs,
    // Below 64 MiB a worker cannot even load its libraries.
    workerMemoryMiB: optionalInt(env, 'AUTOMAT_WORKER_MEMORY_MIB', 64) ?? d.workerMemoryMiB,
    checkpointFlushMs: optionalInt(env, 'AUTOMAT_CHECKPOINT_FLUSH_MS') ?? d.checkpointFlushMs,
  };
}

function loadS3(env: Env): S3Config | undefined {
  const endpoint = env.AUTOMAT_S3_ENDPOINT;
  if (!endpoint) return undefined;
  const accessKeyId = env.AUTOMAT_S3_ACCESS_KEY_ID;
  const secretAccessKey = env.AUTOMAT_S3_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,

      'AUTOMAT_S3_ACCESS_KEY_ID and AUTOMAT_S3_SECRET_ACCESS_KEY must be set when AUTOMAT_S3_ENDPOINT is',
    );
  }
  return {
    endpoint,
    region: text(env.AUTOMAT_S3_REGION) ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    bucket: text(env.AUTOMAT_S3_BUCKET) ?? 'automat0',
    prefix: env.AUTOMAT_S3_PREFIX ?? 'automat0',
  };
}

/** A setting's text; empty or blank counts as unset, as for every other setting. */
function text(raw: string | undefined): string | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

function list(raw: string | undefined, separator: string): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function optionalInt(
  env: Env,
  name: string,
  minimum = 0,
  maximum = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    const expected =
      maximum !== Number.MAX_SAFE_INTEGER
        ? `an integer between ${minimum} and ${maximum}`
        : minimum === 0
          ? 'a non-negative integer'
          : `an integer of at least ${minimum}`;
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,
      `${name} must be ${expected}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function logLevel(raw: string | undefined): LogLevel | undefined {
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
  if (raw === undefined || raw === '') return undefined;
  if ((levels as string[]).includes(raw)) return raw as LogLevel;
  throw new AutomatError(
    ErrorCodes.CONFIG_INVALID,
    `AUTOMAT_LOG_LEVEL must be one of ${levels.join(', ')}, got ${JSON.stringify(raw)}`,
  );
}
