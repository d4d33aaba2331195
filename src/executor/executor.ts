import { dispatch } from 'nact';
import { startActorTree, type ActorTree } from '../../actors/root.js';
import type { IngestService } from '../../actors/ingest-supervisor.js';
import type { CancelAnswer, SupervisorStats } from '../../actors/trial-supervisor.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import type { ResolvedTrial } from '../trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../trial/trial-outcome.js';
import type { CheckpointUploader, WorkerLauncher } from '../trial/trial-ports.js';
import { POLICY_DEFAULTS, type PolicySettings } from '../trial/trial-settings.js';

/** The adapters an executor runs on: real services for `serve`, embedded ones for `run`. */
export interface ExecutorRuntime {
  store: TrialStore;
  bus: Bus;
  artifacts: CheckpointUploader & { close(): Promise<void> };
  ingest: IngestService;
  launcher: WorkerLauncher;
  clock: Clock;
  logger: Logger;
}

export interface ExecutorOptions {
  /** Trials run at once. */
  concurrency: number;
  /** Grace after a graceful stop before a worker is killed. */
  stopGraceMs: number;
  /** Time a launched worker has to send `hello`. */
  startupTimeoutMs: number;
  /** Local folder under which workers write checkpoints before upload. */
  checkpointDir: string;
  /** How long close() waits for running trials to stop before it kills them. Default 60 s. */
  closeTimeoutMs?: number;
  /** Liveness, retry and memory settings; each omitted one takes its POLICY_DEFAULTS value. */
  policy?: Partial<PolicySettings>;
}

export interface ExecutorLoad {
  active: number;
  concurrency: number;
  accepting: boolean;
}

/**
 * The executor: an actor tree over a runtime. Callers hand it resolved trials and get their
 * outcomes; it owns nothing about where trials come from (see IntakeConsumer).
 */
export class Executor {
  readonly #tree: ActorTree;
  readonly #pending = new Map<string, Promise<TrialOutcome>>();
  #closing: Promise<void> | undefined;

  constructor(
    private readonly runtime: ExecutorRuntime,
    private readonly options: ExecutorOptions,
  ) {
    const { store, bus, logger, clock, artifacts, launcher } = runtime;
    this.#tree = startActorTree({
      concurrency: options.concurrency,
      ingest: runtime.ingest,
      mirror: { bus, store, logger },
      logger,
      trial: {
        store,
        artifacts,
        launcher,
        clock,
        logger,
        settings: {
          ...POLICY_DEFAULTS,
          ...definedOnly(options.policy ?? {}),
          stopGraceMs: options.stopGraceMs,
          startupTimeoutMs: options.startupTimeoutMs,
          checkpointDir: options.checkpointDir,
        },
      },
    });
  }

  /** Runs a trial (already recorded in the store); resolves once it ended and its worker is gone. */
  submit(trial: ResolvedTrial): Promise<TrialOutcome> {
    const trialId = trial.spec.trial_id;
    const existing = this.#pending.get(trialId);
    if (existing) return existing;
    const outcome = new Promise<TrialOutcome>((resolve) => {
      dispatch(this.#tree.trialSupervisor, { type: 'trial.submitted', trial, done: resolve });
    }).finally(() => this.#pending.delete(trialId));
    this.#pending.set(trialId, outcome);
    return outcome;
  }

  /**
   * Trials submitted and not yet finished (running or waiting for a slot), against the
   * concurrency, and whether the executor still takes trials (false once close() was called).
   * The intake consumer pauses on it.
   */
  get load(): ExecutorLoad {
    return {
      active: this.#pending.size,
      concurrency: this.options.concurrency,
      accepting: this.#closing === undefined,
    };
  }

  cancel(trialId: string, reason = 'cancelled by request'): Promise<CancelAnswer> {
    return new Promise((resolve) =>
      dispatch(this.#tree.trialSupervisor, {
        type: 'trial.cancel_requested',
        trialId,
        reason,
        reply: resolve,
      }),
    );
  }

  stats(): Promise<SupervisorStats> {
    return new Promise((resolve) =>
      dispatch(this.#tree.trialSupervisor, { type: 'supervisor.stats', reply: resolve }),
    );
  }

  /** Resolves once every message handed to the bus mirror so far is stored and published. */
  flushMirror(): Promise<void> {
    return new Promise((resolve) =>
      dispatch(this.#tree.busMirror, { type: 'mirror.flush', done: resolve }),
    );
  }

  /**
   * Shuts down in phases: running trials are asked to stop after their epoch (and killed when
   * the timeout passes), the mirror is flushed, then the actors, the ingest pool and the
   * adapters close. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { logger } = this.runtime;
    const trials = [...this.#pending.keys()];
    logger.info('executor closing', { runningTrials: trials.length });
    await Promise.all(trials.map((id) => this.cancel(id, 'executor shutting down')));
    const timeoutMs = this.options.closeTimeoutMs ?? 60_000;
    const settled = Promise.allSettled([...this.#pending.values()]);
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
    ]);
    if (timedOut)
      logger.warn('trials still running at shutdown', { trials: [...this.#pending.keys()] });
    await this.flushMirror();
    this.#tree.stop();
    await this.runtime.ingest.close();
    await Promise.allSettled([this.runtime.bus.close(), this.runtime.artifacts.close()]);
    await this.runtime.store.close();
    logger.info('executor closed');
  }
}

/** Drops keys whose value is undefined, so that they do not hide a default when spread. */
function definedOnly<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(partial).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
