import type { Clock } from '../clock/clock.js';
import type { Heartbeat, TaskTypeName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type { ShardManifest } from '../ingest/shard-manifest.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import type { ControlInput } from '../worker-protocol/index.js';

/**
 * What a TrialRun needs from the world, as narrow ports. The executor wires them to the real
 * adapters (ZeroMQ, Postgres or SQLite, S3, RabbitMQ); the shapes keep TrialRun free of them.
 */

/** A control message before the channel stamps `seq` and `ts`. */
export type OutgoingControl = ControlInput;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  classification: 'clean' | 'crashed' | 'killed' | 'oom';
  stderrTail: string;
}

/** One launched worker process and its control channel. */
export interface WorkerSession {
  readonly pid: number;
  send(message: OutgoingControl): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Closes the channel; the process is not touched. Idempotent. */
  close(): Promise<void>;
}

export interface WorkerLauncher {
  launch(options: {
    trialId: string;
    attempt: number;
    maxOldSpaceMiB: number;
    onHeartbeat: (heartbeat: Heartbeat) => void;
    onExit: (exit: WorkerExit) => void;
  }): Promise<WorkerSession>;
}

export interface IngestRequest {
  datasetUri: string;
  tokenizerRef: string;
  seqLen: number;
  taskType: TaskTypeName;
  valFraction: number;
  seed: number;
}

export interface IngestResult {
  manifestPath: string;
  manifest: ShardManifest;
  cacheHit: boolean;
}

export interface CheckpointUploader {
  /** Uploads a checkpoint folder; resolves to its URI. */
  putDirectory(keyPrefix: string, localDir: string): Promise<{ uri: string; bytes: number }>;
}

export interface TrialRunDeps {
  store: TrialStore;
  artifacts: CheckpointUploader;
  launcher: WorkerLauncher;
  /** Hands a bus message to the BusMirrorActor (which persists, then publishes it). */
  mirror: (routingKey: string, message: Record<string, unknown>) => void;
  /** Asks the IngestSupervisor for shards; the answer comes back as a mailbox message. */
  requestIngest: (request: IngestRequest) => void;
  /** Posts a message into this trial's own mailbox (timers and callbacks use it). */
  post: (message: TrialMessage) => void;
  clock: Clock;
  logger: Logger;
  settings: { stopGraceMs: number; startupTimeoutMs: number; checkpointDir: string };
}

/** Everything a TrialActor's mailbox receives. */
export type TrialMessage =
  | { type: 'trial.accept' }
  | { type: 'trial.start' }
  | { type: 'trial.cancel'; reason: string }
  | { type: 'ingest.completed'; result: IngestResult }
  | { type: 'ingest.failed'; error: SerializedError }
  | { type: 'worker.heartbeat'; attempt: number; heartbeat: Heartbeat }
  | { type: 'worker.exited'; attempt: number; exit: WorkerExit }
  | { type: 'timer.startup_expired'; attempt: number }
  | { type: 'timer.budget_expired'; attempt: number }
  | { type: 'timer.grace_expired'; attempt: number };
