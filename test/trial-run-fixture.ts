/**
 * A TrialRun on a manual clock, an in-memory SQLite store and a local artifact folder, with a
 * scripted worker: each test plays the worker's side (hello, epochs, checkpoints, final, exit)
 * and reads what the run did. Policies and timers run for real; only the process is scripted.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../src/artifacts/local-artifact-store.js';
import { ManualClock } from '../src/clock/clock.js';
import { contracts, type Heartbeat } from '../src/contracts/index.js';
import type { ShardManifest } from '../src/ingest/shard-manifest.js';
import { silentLogger } from '../src/log/logger.js';
import { SqliteTrialStore } from '../src/store/sqlite-trial-store.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../src/trial/trial-outcome.js';
import type {
  OutgoingControl,
  TrialMessage,
  WorkerExit,
  WorkerLauncher,
} from '../src/trial/trial-ports.js';
import { TrialRun } from '../src/trial/trial-run.js';
import { POLICY_DEFAULTS, type TrialSettings } from '../src/trial/trial-settings.js';

type LaunchOptions = Parameters<WorkerLauncher['launch']>[0];
type HeartbeatBody = Record<string, unknown> & { type: Heartbeat['type'] };

/** One launched (scripted) worker: what it was told and what was done to it. */
export interface ScriptedWorker {
  attempt: number;
  options: LaunchOptions;
  sent: OutgoingControl[];
  kills: string[];
  seq: number;
}

export interface RigOptions {
  hparams?: Record<string, unknown>;
  budgetSeconds?: number;
  settings?: Partial<TrialSettings>;
}

export class TrialRunRig {
  readonly clock = new ManualClock(1_000_000);
  readonly workers: ScriptedWorker[] = [];
  readonly mirrored: Array<Record<string, unknown>> = [];
  readonly outcomes: TrialOutcome[] = [];
  readonly #queue: TrialMessage[] = [];
  run!: TrialRun;

  private constructor(
    readonly dir: string,
    readonly store: SqliteTrialStore,
    readonly trialId = `rig-${Math.random().toString(36).slice(2, 10)}`,
  ) {}

  static async start(options: RigOptions = {}): Promise<TrialRunRig> {
    const dir = await mkdtemp(join(tmpdir(), 'automat0-rig-'));
    const store = new SqliteTrialStore({ path: ':memory:', logger: silentLogger });
    await store.migrate();
    const rig = new TrialRunRig(dir, store);
    await rig.#init(options);
    return rig;
  }

  /**
   * A second executor's run of the same trial, on the same store, folders and artifacts, as if
   * `previous` had died: nothing of its in-memory state carries over. Start it with `trial.adopt`.
   */
  static async successor(previous: TrialRunRig, options: RigOptions = {}): Promise<TrialRunRig> {
    const rig = new TrialRunRig(previous.dir, previous.store, previous.trialId);
    await rig.#init(options);
    return rig;
  }

  /** Ingest finished: the run launches its attempt. */
  async ingested(): Promise<void> {
    const manifest = { tokenizer: { vocab_size: 100 }, labels: ['ham', 'spam'] };
    await this.post({
      type: 'ingest.completed',
      result: {
        manifestPath: join(this.dir, 'manifest.json'),
        manifest: manifest as unknown as ShardManifest,
        cacheHit: false,
      },
    });
  }

  async #init(options: RigOptions): Promise<void> {
    const spec = contracts.trialSpec.parse({
      trial_id: this.trialId,
      task_type: 'classification',
      tokenizer_ref: 'llama2',
      device_profile: 'cpu',
      seq_len: 16,
      embed_dim: 16,
      budget_seconds: options.budgetSeconds ?? 3600,
      dataset_uri: '/data/synthetic.jsonl',
      primary_metric: 'val_accuracy',
      hparams: { epochs: 5, batch_size: 32, ...options.hparams },
    });
    if (!(await this.store.getTrial(this.trialId))) {
      await this.store.createTrial(spec, new Date(this.clock.now()).toISOString());
    }
    const settings: TrialSettings = {
      ...POLICY_DEFAULTS,
      stopGraceMs: 30_000,
      startupTimeoutMs: 120_000,
      checkpointDir: join(this.dir, 'checkpoints'),
      ...options.settings,
    };
    this.run = new TrialRun(
      resolveTrialSpec(spec),
      {
        store: this.store,
        artifacts: new LocalArtifactStore({ root: join(this.dir, 'artifacts') }),
        launcher: { launch: async (launch) => this.#launch(launch) },
        mirror: (_key, message) => void this.mirrored.push(message),
        requestIngest: () => undefined,
        post: (message) => void this.#queue.push(message),
        clock: this.clock,
        logger: silentLogger,
        settings,
      },
      (outcome) => void this.outcomes.push(outcome),
    );
  }

  #launch(options: LaunchOptions) {
    const worker: ScriptedWorker = {
      attempt: options.attempt,
      options,
      sent: [],
      kills: [],
      seq: 0,
    };
    this.workers.push(worker);
    return Promise.resolve({
      pid: 4000 + this.workers.length,
      send: async (message: OutgoingControl) => void worker.sent.push(message),
      kill: (signal: NodeJS.Signals) => void worker.kills.push(signal),
      close: async () => undefined,
    });
  }

  /** Handles every queued message, in order, as the actor's mailbox would. */
  async drain(): Promise<void> {
    for (let message = this.#queue.shift(); message; message = this.#queue.shift()) {
      await this.run.handle(message);
    }
  }

  async post(message: TrialMessage): Promise<void> {
    this.#queue.push(message);
    await this.drain();
  }

  /** Moves the manual clock; timers that fall due post their messages, which are handled. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.drain();
  }

  /** Accepts, starts and "ingests" the trial, which launches attempt 1. */
  async begin(): Promise<ScriptedWorker> {
    await this.post({ type: 'trial.accept' });
    await this.post({ type: 'trial.start' });
    await this.ingested();
    return this.worker(1);
  }

  worker(attempt: number): ScriptedWorker {
    const worker = this.workers.find((w) => w.attempt === attempt);
    if (!worker) throw new Error(`attempt ${attempt} was never launched`);
    return worker;
  }

  /** The worker of `attempt` sends a heartbeat (stamped as its endpoint would). */
  async emit(attempt: number, body: HeartbeatBody): Promise<void> {
    const worker = this.worker(attempt);
    const heartbeat = {
      trial_id: this.trialId,
      attempt,
      seq: worker.seq++,
      ts: new Date(this.clock.now()).toISOString(),
      ...body,
    };
    contracts.heartbeat.parse(heartbeat);
    worker.options.onHeartbeat(heartbeat as Heartbeat);
    await this.drain();
  }

  hello(attempt: number, startEpoch = 1, batch = 32): Promise<void> {
    const type = 'heartbeat.hello';
    return this.emit(attempt, {
      type,
      actual_batch: batch,
      tokenizer_ref: 'llama2',
      pid: 4000 + attempt,
      start_epoch: startEpoch,
    });
  }

  /** One epoch of `durationMs`: the clock moves on by it, then the epoch is reported. */
  async epoch(attempt: number, epoch: number, primary: number | null, durationMs = 10_000) {
    await this.advance(durationMs);
    const metrics = { primary, tokens_per_s: 1000, train_loss: 0.5, val_loss: 0.5 };
    await this.emit(attempt, { type: 'heartbeat.epoch', epoch, duration_ms: durationMs, metrics });
  }

  /** Writes a checkpoint folder as the worker would, then reports it. */
  async checkpoint(attempt: number, epoch: number): Promise<string> {
    const path = join(this.dir, 'checkpoints', this.trialId, String(attempt), `epoch-${epoch}`);
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'checkpoint.json'), JSON.stringify({ epoch }));
    await writeFile(join(path, 'weights.bin'), Buffer.alloc(64, epoch));
    await this.emit(attempt, { type: 'heartbeat.checkpoint', epoch, path, bytes: 64 });
    return path;
  }

  final(attempt: number, status: 'completed' | 'cancelled' | 'failed', extra = {}) {
    const best = { name: 'val_accuracy', value: null, epoch: null };
    return this.emit(attempt, {
      type: 'heartbeat.final',
      status,
      best_metric: best,
      epochs_completed: 0,
      ...extra,
    });
  }

  progress(attempt: number, epoch = 1): Promise<void> {
    const body = { epoch_elapsed_ms: 0, rss_bytes: 1, heap_used_bytes: 1 };
    return this.emit(attempt, { type: 'heartbeat.progress', epoch, ...body });
  }

  /** The worker process of `attempt` exits. */
  async exit(attempt: number, exit: Partial<WorkerExit> = {}): Promise<void> {
    const full: WorkerExit = {
      code: null,
      signal: 'SIGKILL',
      classification: 'killed',
      stderrTail: '',
      ...exit,
    };
    this.worker(attempt).options.onExit(full);
    await this.drain();
  }

  events(type: string): Array<Record<string, unknown>> {
    return this.mirrored.filter((m) => m.type === type);
  }

  states(): unknown[] {
    return this.events('trial.state_changed').map((m) => m.to);
  }

  /** Idempotent; a successor shares its predecessor's store and folder. */
  async cleanup(): Promise<void> {
    await this.store.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
