import type { Clock } from '../clock/clock.js';
import { serializeError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TrialRecord } from '../store/trial-store.js';
import { resolveTrialSpec } from '../trial/resolve-trial-spec.js';
import { isTerminal } from '../trial/trial-fsm.js';
import { loadTakeover } from '../trial/trial-takeover.js';
import type { Executor } from './executor.js';
import { cancelOnArrival } from './pending-cancel.js';

export interface TrialRecoveryOptions {
  executor: Executor;
  clock: Clock;
  logger: Logger;
  /** Between looks for trials whose executor stopped renewing their lease. Default 15 s. */
  scanMs?: number;
  /** Called when a taken-over trial ends, so that the intake can take its slot's place. */
  onTrialEnded?: () => void;
}

/**
 * Crash recovery: no unfinished trial stays without an executor watching it.
 *
 * On start-up, the executor takes back the unfinished trials still leased to its own id (it was
 * restarted after a crash; see ExecutorOptions.executorId). Then, every `scanMs`, it looks for
 * unfinished trials whose lease lapsed — their executor died, or lost its database for a whole
 * lease — or that nobody holds (handed over at a graceful shutdown), and claims as many as it
 * has free slots. A claim is a guarded update, so among
 * several executors exactly one wins each trial.
 *
 * A taken-over trial goes on from its stored state: queued or ingesting trials start as usual;
 * a trial that had a worker launches its next attempt, resuming from its latest checkpoint
 * (downloaded from the artifact store when this machine does not have it), which counts as one
 * failure against `max_failures` unless that attempt ended in a graceful handover (the executor
 * shut down and released the lease; see ExecutorOptions.shutdown). Its stored, unpublished
 * messages go out first. A trial with a pending cancel (its executor died before carrying it
 * out) ends cancelled at once instead.
 */
export class TrialRecovery {
  readonly #scanMs: number;
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly options: TrialRecoveryOptions) {
    this.#scanMs = options.scanMs ?? 15_000;
  }

  /** Takes back this executor's own trials and scans once; then scans every `scanMs`. */
  async start(): Promise<void> {
    const { executor } = this.options;
    const held = await executor.leases.renew();
    const running = new Set(executor.trialIds);
    for (const trialId of held) {
      if (!running.has(trialId)) await this.#takeOver(trialId);
    }
    await this.scan();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
  }

  /** Claims and takes over orphaned trials, as many as there are free slots. */
  async scan(): Promise<number> {
    const { executor, clock, logger } = this.options;
    const { active, concurrency, accepting } = executor.load;
    const free = concurrency - active;
    if (!accepting || free <= 0) return 0;
    const now = new Date(clock.now()).toISOString();
    let taken = 0;
    try {
      const orphans = await executor.store.listOrphanedTrials(now, free);
      for (const trialId of orphans) {
        const before = await executor.store.getTrial(trialId);
        if (!(await executor.store.claimTrial(trialId, executor.leases.lease(), now))) continue;
        // Null when nobody held it (a trial handed over at a shutdown released its lease).
        if (await this.#takeOver(trialId, before?.owner ?? null)) taken += 1;
      }
    } catch (error) {
      logger.warn('orphaned trials not taken over yet', { error: serializeError(error) });
    }
    return taken;
  }

  /**
   * Goes on with one trial this executor holds the lease of; false when there was nothing to do.
   * `previous`: who held it before the claim; omitted for a trial this executor already held.
   */
  async #takeOver(trialId: string, previous?: string | null): Promise<boolean> {
    const { executor, logger } = this.options;
    const record = await executor.store.getTrial(trialId);
    if (!record || isTerminal(record.state)) return false;
    let trial;
    try {
      trial = resolveTrialSpec(record.spec);
    } catch (error) {
      await this.#failUnrunnable(record, error);
      return false;
    }
    const takeover = await loadTakeover(executor.store, record, {
      executor: executor.id,
      previous: previous === undefined ? record.owner : previous,
    });
    // An executor that died between storing a trial and cancelling it on arrival left the cancel.
    const now = new Date(this.options.clock.now()).toISOString();
    const cancelReason = await cancelOnArrival(executor.store, trialId, now);
    await executor.adoptOutbox(trialId);
    void executor
      .submit(trial, { takeover, ...(cancelReason === undefined ? {} : { cancelReason }) })
      .then(
        (outcome) => logger.info('trial outcome', { ...outcome, takenOver: true }),
        (error: unknown) =>
          logger.error('trial ended abnormally', { trialId, error: serializeError(error) }),
      )
      .finally(() => this.options.onTrialEnded?.());
    return true;
  }

  /** A stored spec this build no longer accepts (defaults or limits changed) ends the trial. */
  async #failUnrunnable(record: TrialRecord, error: unknown): Promise<void> {
    const { executor, clock, logger } = this.options;
    logger.error('taken-over trial cannot run here', {
      trialId: record.trialId,
      error: serializeError(error),
    });
    await executor.store.recordTransition({
      trialId: record.trialId,
      from: record.state,
      to: 'failed',
      reason: 'taken over, but its spec is no longer valid',
      stopReason: 'failed',
      error: serializeError(error),
      at: new Date(clock.now()).toISOString(),
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#cancel = this.options.clock.setTimer(this.#scanMs, () => {
      void this.scan().finally(() => this.#schedule());
    });
  }
}
