import { dispatch } from 'nact';
import { startActorTree, type ActorTree } from '../../actors/root.js';
import type { IngestService } from '../../actors/ingest-supervisor.js';
import type { CancelAnswer, SupervisorStats } from '../../actors/trial-supervisor.js';
import { randomUUID } from 'node:crypto';
import { serializeError } from '../errors/index.js';
import type { Bus, BusHealth } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { ExecutorHealth } from '../health/executor-health.js';
import { LeaseKeeper } from './lease-keeper.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import { PatientTrialStore } from '../store/patient-trial-store.js';
import type { TrialStore } from '../store/trial-store.js';
import type { TrialTakeover } from '../trial/trial-takeover.js';
import type { ResolvedTrial } from '../trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../trial/trial-outcome.js';
import type { CheckpointUploader, WorkerLauncher } from '../trial/trial-ports.js';
import { POLICY_DEFAULTS, type PolicySettings } from '../trial/trial-settings.js';

/** The adapters an executor runs on: real services for `serve`, embedded ones for `run`. */
export interface ExecutorRuntime {
  /** Used as it is by the outbox relay, and through a PatientTrialStore by everything else. */
  store: TrialStore;
  bus: Bus;
  artifacts: CheckpointUploader & { close(): Promise<void> };
  ingest: IngestService;
  launcher: WorkerLauncher;
  clock: Clock;
  logger: Logger;
  /** Where components report outages; a fresh ExecutorHealth when omitted. */
  health?: ExecutorHealth;
}

export interface ExecutorOptions {
  /**
   * This executor's id in trial leases and the outbox. Keep it stable across restarts of one
   * executor (same host, same work folder), so that a restarted executor takes its own trials
   * back at once instead of waiting for their leases to lapse. Default: random.
   */
  executorId?: string;
  /** How long a store call keeps retrying through a database outage. Default 5 minutes. */
  storeOutageMs?: number;
  /** How long a trial's lease lasts unless renewed (three times per period). Default 30 s. */
  leaseTtlMs?: number;
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
  /**
   * What close() does with the trials it still has. `hand_over`, for an executor on the shared
   * queue (`automat0 serve`): each worker is asked to stop after its current epoch (killed after
   * `stopGraceMs`), the trial is left unended, the handover recorded and the lease released at
   * once, so that the next executor to scan (another one, or this one restarted) resumes it from
   * its latest checkpoint without counting a failure. `cancel`, for the one-shot in-process
   * `automat0 run`, which has nobody to hand over to: each trial ends `cancelled`.
   */
  shutdown: ShutdownMode;
  /** Liveness, retry and memory settings; each omitted one takes its POLICY_DEFAULTS value. */
  policy?: Partial<PolicySettings>;
}

/** How {@link Executor.submit} starts a trial; both are omitted for a fresh one. */
export interface SubmitOptions {
  /** Goes on with a trial taken over from another executor. */
  takeover?: TrialTakeover;
  /** Ends the trial cancelled at once, with this reason, without ingest or a worker. */
  cancelReason?: string;
}

/** What a graceful close does with running trials; see {@link ExecutorOptions.shutdown}. */
export type ShutdownMode = 'hand_over' | 'cancel';

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
  readonly id: string;
  readonly health: ExecutorHealth;
  /** The store as trials and intake use it: patient through database outages. */
  readonly store: TrialStore;
  readonly #tree: ActorTree;
  readonly #pending = new Map<string, Promise<TrialOutcome>>();
  readonly leases: LeaseKeeper;
  readonly #stopWatchingBus: () => void;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly runtime: ExecutorRuntime,
    private readonly options: ExecutorOptions,
  ) {
    const { bus, logger, clock, artifacts, launcher } = runtime;
    this.id = options.executorId ?? `executor-${randomUUID()}`;
    this.health = runtime.health ?? new ExecutorHealth(clock, logger);
    const store = new PatientTrialStore(runtime.store, {
      clock,
      logger,
      health: this.health,
      ...(options.storeOutageMs === undefined ? {} : { outageMs: options.storeOutageMs }),
    });
    this.store = store;
    const relay = new OutboxRelay({
      store: runtime.store,
      bus,
      clock,
      logger,
      health: this.health,
      owner: this.id,
    });
    this.#tree = startActorTree({
      concurrency: options.concurrency,
      ingest: runtime.ingest,
      mirror: { relay, clock, logger },
      logger,
      trial: {
        health: this.health,
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
    this.#stopWatchingBus = this.#watchBus(bus);
    this.leases = new LeaseKeeper({
      owner: this.id,
      store,
      clock,
      logger,
      health: this.health,
      ttlMs: options.leaseTtlMs ?? 30_000,
      running: () => this.trialIds,
      onLost: (trialId) =>
        dispatch(this.#tree.trialSupervisor, {
          type: 'trial.abandon_requested',
          trialId,
          reason: 'another executor took the trial over after this one could not renew its lease',
        }),
    });
    this.leases.start();
  }

  /** Reports the bus's health, and has the outbox catch up as soon as the bus is back. */
  #watchBus(bus: Bus): () => void {
    const report = (health: BusHealth) => {
      const problem = health.status === 'connected' ? undefined : describeBusHealth(health);
      this.health.report('bus', 'connection', problem);
      if (health.status === 'connected') {
        dispatch(this.#tree.busMirror, { type: 'mirror.tick', replay: false });
      }
    };
    report(bus.health());
    return bus.onHealthChange(report);
  }

  /**
   * Runs a trial (already recorded in the store); resolves once it ended and its worker is gone.
   * With `takeover`, goes on with a trial taken over from another executor; call
   * {@link adoptOutbox} first, so that its stored backlog goes out before its new messages. With
   * `cancelReason`, the trial ends cancelled at once: a planner cancelled it before it arrived.
   */
  submit(trial: ResolvedTrial, start: SubmitOptions = {}): Promise<TrialOutcome> {
    const trialId = trial.spec.trial_id;
    const existing = this.#pending.get(trialId);
    if (existing) return existing;
    const { takeover, cancelReason } = start;
    const outcome = new Promise<TrialOutcome>((resolve) => {
      dispatch(this.#tree.trialSupervisor, {
        type: 'trial.submitted',
        trial,
        ...(takeover ? { takeover } : {}),
        ...(cancelReason === undefined ? {} : { cancelReason }),
        done: resolve,
      });
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

  /** The ids of the trials submitted and not yet finished. */
  get trialIds(): string[] {
    return [...this.#pending.keys()];
  }

  /** Loads a taken-over trial's stored, unpublished messages into the outbox, ahead of new ones. */
  adoptOutbox(trialId: string): Promise<void> {
    return new Promise((resolve, reject) =>
      dispatch(this.#tree.busMirror, {
        type: 'mirror.adopt',
        trialId,
        done: (error) => (error === undefined ? resolve() : reject(error as Error)),
      }),
    );
  }

  /**
   * Resolves once every message handed to the bus mirror so far has had a try at the store and
   * the bus; what an outage holds back stays in the outbox.
   */
  flushMirror(): Promise<void> {
    return new Promise((resolve) =>
      dispatch(this.#tree.busMirror, { type: 'mirror.flush', done: resolve }),
    );
  }

  /**
   * Shuts down in phases: running trials are asked to stop after their epoch (and killed when
   * the timeout passes), then handed over or cancelled (ExecutorOptions.shutdown), the mirror is
   * flushed, then the actors, the ingest pool and the adapters close. Idempotent: every call
   * returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { logger } = this.runtime;
    const trials = [...this.#pending.entries()];
    const { shutdown } = this.options;
    logger.info('executor closing', { runningTrials: trials.length, shutdown });
    const timeoutMs = this.options.closeTimeoutMs ?? 60_000;
    const settled = Promise.allSettled(trials.map(([id, done]) => this.#stopAtClose(id, done)));
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
    ]);
    if (timedOut)
      logger.warn('trials still running at shutdown', { trials: [...this.#pending.keys()] });
    await this.flushMirror();
    this.leases.stop();
    this.#stopWatchingBus();
    this.#tree.stop();
    await this.runtime.ingest.close();
    await Promise.allSettled([this.runtime.bus.close(), this.runtime.artifacts.close()]);
    await this.runtime.store.close();
    logger.info('executor closed');
  }

  /** Hands over or cancels one trial at close; resolves once it left, its lease released. */
  async #stopAtClose(trialId: string, done: Promise<TrialOutcome>): Promise<void> {
    const reason = 'executor shutting down';
    if (this.options.shutdown === 'cancel') {
      await this.cancel(trialId, reason);
    } else {
      const executor = this.id;
      const request = { type: 'trial.handover_requested' as const, trialId, executor, reason };
      dispatch(this.#tree.trialSupervisor, request);
    }
    const outcome = await done;
    const released = outcome.handedOver ? await this.#releaseLease(trialId) : false;
    this.runtime.logger.info('trial at shutdown', {
      trialId,
      action: outcome.handedOver ? 'handed over' : 'ended',
      state: outcome.state,
      stopReason: outcome.stopReason,
      ...(outcome.handedOver
        ? { attempt: outcome.handedOver.attempt, resumeEpoch: outcome.handedOver.resumeEpoch }
        : {}),
      leaseReleased: released,
    });
  }

  /**
   * Releases a handed-over trial's lease once its messages (the `trial.handed_over` event last)
   * are stored: the next owner numbers its own from the highest stored `seq`. Without waiting
   * out a database outage: a lease not released lapses after its TTL, as after a crash.
   */
  async #releaseLease(trialId: string): Promise<boolean> {
    await this.flushMirror();
    try {
      return await this.runtime.store.releaseLease(trialId, this.id);
    } catch (error) {
      this.runtime.logger.warn('lease not released; it lapses after its TTL', {
        trialId,
        error: serializeError(error),
      });
      return false;
    }
  }
}

/** Drops keys whose value is undefined, so that they do not hide a default when spread. */
function definedOnly<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(partial).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

function describeBusHealth(health: BusHealth): string {
  if (health.status === 'reconnecting') {
    return `reconnecting since ${new Date(health.since).toISOString()} (attempt ${health.attempts}): ${health.reason}`;
  }
  return health.status === 'closed' ? `closed: ${health.reason}` : 'connected';
}
