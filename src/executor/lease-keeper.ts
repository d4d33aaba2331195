import type { Clock } from '../clock/clock.js';
import { serializeError } from '../errors/index.js';
import type { HealthReporter } from '../health/executor-health.js';
import type { Logger } from '../log/logger.js';
import type { Lease, TrialStore } from '../store/trial-store.js';

export interface LeaseKeeperOptions {
  /** The executor's id. */
  owner: string;
  store: Pick<TrialStore, 'renewLeases' | 'getTrial'>;
  clock: Clock;
  logger: Logger;
  health: HealthReporter;
  /** How long a lease lasts; it is renewed three times per period. */
  ttlMs: number;
  /** The trials this executor runs now. */
  running: () => string[];
  /** Called for a running trial whose lease another executor took. */
  onLost: (trialId: string) => void;
}

/**
 * Keeps the leases of an executor's trials: every `ttlMs / 3` it extends all of them in one
 * statement. A trial it runs that is missing from the renewal was taken over by another
 * executor (this one could not renew for a whole lease, e.g. through a long database outage),
 * and is reported through `onLost` so that it stops here.
 *
 * Leases compare ISO timestamps from each executor's own clock: executors' clocks must agree to
 * well within one lease (30 s by default), as NTP keeps them.
 */
export class LeaseKeeper {
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** A lease from now, for a trial this executor is about to record or take. */
  lease(): Lease {
    const { owner, clock, ttlMs } = this.options;
    return { owner, expiresAt: new Date(clock.now() + ttlMs).toISOString() };
  }

  start(): void {
    if (this.#stopped || this.#cancel) return;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
  }

  /** Renews now; resolves to the trials held. Exposed for start-up and tests. */
  async renew(): Promise<string[]> {
    const { store, logger, health, running, onLost } = this.options;
    let held: string[];
    try {
      held = await store.renewLeases(this.lease());
      health.report('store', 'leases', undefined);
    } catch (error) {
      health.report('store', 'leases', 'trial leases could not be renewed');
      logger.warn('trial leases not renewed', { error: serializeError(error) });
      return [];
    }
    const heldSet = new Set(held);
    for (const trialId of running()) {
      // A trial that just ended is not renewed either; only another owner means a loss.
      if (!heldSet.has(trialId) && (await this.#ownedElsewhere(trialId))) onLost(trialId);
    }
    return held;
  }

  async #ownedElsewhere(trialId: string): Promise<boolean> {
    const { store, logger, owner } = this.options;
    const record = await store.getTrial(trialId).catch(() => undefined);
    if (!record || record.owner === owner || record.owner === null) return false;
    logger.error('trial lease lost to another executor', { trialId, owner, taker: record.owner });
    return true;
  }

  #schedule(): void {
    this.#cancel = this.options.clock.setTimer(Math.max(1, this.options.ttlMs / 3), () => {
      void this.renew().finally(() => {
        if (!this.#stopped) this.#schedule();
      });
    });
  }
}
