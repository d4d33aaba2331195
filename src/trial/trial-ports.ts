import type { Clock } from '../clock/clock.js';
import type { Heartbeat, TaskTypeName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type { ShardManifest } from '../ingest/shard-manifest.js';
import type { HealthReporter } from '../health/executor-health.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import type { ControlInput } from '../worker-protocol/index.js';
import type { TrialSettings } from './trial-settings.js';
import type { TrialTakeover } from './trial-takeover.js';

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
  /** Downloads one file URI to `localPath`; a retry uses it when the local folder is gone. */
  getFile(uri: string, localPath: string): Promise<void>;
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
  settings: TrialSettings;
  /** Where pending checkpoint uploads are reported; nowhere when omitted. */
  health?: HealthReporter;
}

/** Everything a TrialActor's mailbox receives. */
export type TrialMessage =
  | { type: 'trial.accept' }
  /** Instead of `trial.accept`: goes on with a trial taken over from another executor. */
  | { type: 'trial.adopt'; takeover: TrialTakeover }
  | { type: 'trial.start' }
  | { type: 'trial.cancel'; reason: string }
  /** Another executor took the trial over: stop here without writing anything more. */
  | { type: 'trial.abandon'; reason: string }
  /** `executor` shuts down gracefully: stop the worker after its epoch, hand the trial over. */
  | { type: 'trial.hand_over'; executor: string; reason: string }
  | { type: 'ingest.completed'; result: IngestResult }
  | { type: 'ingest.failed'; error: SerializedError }
  | { type: 'worker.heartbeat'; attempt: number; heartbeat: Heartbeat }
  | { type: 'worker.exited'; attempt: number; exit: WorkerExit }
  | TrialTimerMessage;

/**
 * Timers only wake the trial up: each handler checks the policies against the clock before it
 * acts, so a timer that fires late, or for an attempt that is over, does nothing.
 */
export type TrialTimerMessage =
  /** Check the liveness deadlines of `attempt`. */
  | { type: 'timer.liveness'; attempt: number }
  /** The budget may be spent; ask the worker of `attempt` to stop. */
  | { type: 'timer.budget'; attempt: number }
  /** The worker of `attempt` outstayed a stop request (or its failed `final`); kill it. */
  | { type: 'timer.grace'; attempt: number }
  /** The worker of `attempt` was killed and has still not exited. */
  | { type: 'timer.exit_overdue'; attempt: number }
  /** The back-off before `attempt` is over; launch it. */
  | { type: 'timer.retry'; attempt: number };
