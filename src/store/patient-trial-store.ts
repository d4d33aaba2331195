import type { Clock } from '../clock/clock.js';
import type { TrialSpec } from '../contracts/index.js';
import { AutomatError, ErrorCodes, serializeError } from '../errors/index.js';
import type { HealthReporter } from '../health/executor-health.js';
import type { Logger } from '../log/logger.js';
import type {
  BatchBackoffRecord,
  CheckpointRecord,
  EpochRecord,
  HandoverRecord,
  Lease,
  PendingCancel,
  ResultInput,
  StoredMessage,
  TransitionInput,
  TrialStore,
} from './trial-store.js';

export interface PatientTrialStoreOptions {
  clock: Clock;
  logger: Logger;
  health: HealthReporter;
  /** How long one call keeps trying while the database is unavailable. Default 5 minutes. */
  outageMs?: number;
  /** The first pause between tries; it doubles up to 5 s. Default 250 ms. */
  firstDelayMs?: number;
}

/**
 * A trial store that rides out database outages: a call that fails with STORE_UNAVAILABLE (the
 * connection dropped, the server restarts) is tried again with back-off until it succeeds or
 * `outageMs` has passed, and the store is reported degraded meanwhile. Every other error —
 * a conflict, a bug — is passed on at once.
 *
 * The trial actors write through it, so a Postgres restart pauses a trial's bookkeeping while
 * its worker keeps training; the heartbeats wait in the actor's mailbox. A call only retried can
 * have been applied the first time (the reply was lost): every write the trial path makes is an
 * upsert, a guarded state move or an insert-if-absent, so the repeat is harmless, except that a
 * guarded move whose first try was applied reports STORE_CONFLICT.
 */
export class PatientTrialStore implements TrialStore {
  readonly #outageMs: number;
  readonly #firstDelayMs: number;

  constructor(
    private readonly inner: TrialStore,
    private readonly options: PatientTrialStoreOptions,
  ) {
    this.#outageMs = options.outageMs ?? 300_000;
    this.#firstDelayMs = options.firstDelayMs ?? 250;
  }

  migrate(): Promise<void> {
    return this.inner.migrate();
  }

  createTrial(spec: TrialSpec, at: string, lease?: Lease) {
    return this.#patiently('createTrial', () => this.inner.createTrial(spec, at, lease));
  }

  recordTransition(transition: TransitionInput) {
    return this.#patiently('recordTransition', () => this.inner.recordTransition(transition));
  }

  recordMessage(message: StoredMessage) {
    return this.#patiently('recordMessage', () => this.inner.recordMessage(message));
  }

  recordEpoch(epoch: EpochRecord) {
    return this.#patiently('recordEpoch', () => this.inner.recordEpoch(epoch));
  }

  recordCheckpoint(checkpoint: CheckpointRecord) {
    return this.#patiently('recordCheckpoint', () => this.inner.recordCheckpoint(checkpoint));
  }

  recordResult(result: ResultInput) {
    return this.#patiently('recordResult', () => this.inner.recordResult(result));
  }

  recordBatchBackoff(backoff: BatchBackoffRecord) {
    return this.#patiently('recordBatchBackoff', () => this.inner.recordBatchBackoff(backoff));
  }

  getTrial(trialId: string) {
    return this.#patiently('getTrial', () => this.inner.getTrial(trialId));
  }

  listEpochs(trialId: string) {
    return this.#patiently('listEpochs', () => this.inner.listEpochs(trialId));
  }

  listCheckpoints(trialId: string) {
    return this.#patiently('listCheckpoints', () => this.inner.listCheckpoints(trialId));
  }

  listMessages(trialId: string) {
    return this.#patiently('listMessages', () => this.inner.listMessages(trialId));
  }

  listTransitions(trialId: string) {
    return this.#patiently('listTransitions', () => this.inner.listTransitions(trialId));
  }

  listBatchBackoffs(trialId: string) {
    return this.#patiently('listBatchBackoffs', () => this.inner.listBatchBackoffs(trialId));
  }

  listUnpublished(trialId: string, limit: number) {
    return this.#patiently('listUnpublished', () => this.inner.listUnpublished(trialId, limit));
  }

  listTrialsWithUnpublished(owner: string, now: string, limit: number) {
    return this.#patiently('listTrialsWithUnpublished', () =>
      this.inner.listTrialsWithUnpublished(owner, now, limit),
    );
  }

  markPublished(trialId: string, seq: number, at: string) {
    return this.#patiently('markPublished', () => this.inner.markPublished(trialId, seq, at));
  }

  nextSeq(trialId: string) {
    return this.#patiently('nextSeq', () => this.inner.nextSeq(trialId));
  }

  claimTrial(trialId: string, lease: Lease, now: string) {
    return this.#patiently('claimTrial', () => this.inner.claimTrial(trialId, lease, now));
  }

  renewLeases(lease: Lease) {
    return this.#patiently('renewLeases', () => this.inner.renewLeases(lease));
  }

  listOrphanedTrials(now: string, limit: number) {
    return this.#patiently('listOrphanedTrials', () => this.inner.listOrphanedTrials(now, limit));
  }

  recordPendingCancel(cancel: PendingCancel) {
    return this.#patiently('recordPendingCancel', () => this.inner.recordPendingCancel(cancel));
  }

  getPendingCancel(trialId: string, now: string) {
    return this.#patiently('getPendingCancel', () => this.inner.getPendingCancel(trialId, now));
  }

  deletePendingCancel(trialId: string) {
    return this.#patiently('deletePendingCancel', () => this.inner.deletePendingCancel(trialId));
  }

  releaseLease(trialId: string, owner: string) {
    return this.#patiently('releaseLease', () => this.inner.releaseLease(trialId, owner));
  }

  recordHandover(handover: HandoverRecord) {
    return this.#patiently('recordHandover', () => this.inner.recordHandover(handover));
  }

  listHandovers(trialId: string) {
    return this.#patiently('listHandovers', () => this.inner.listHandovers(trialId));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #patiently<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const { clock, logger, health } = this.options;
    const deadline = clock.now() + this.#outageMs;
    for (let delayMs = this.#firstDelayMs, tries = 1; ; delayMs = Math.min(delayMs * 2, 5_000)) {
      try {
        const result = await call();
        if (tries > 1) logger.info('store call succeeded after an outage', { operation, tries });
        health.report('store', 'database', undefined);
        return result;
      } catch (error) {
        if (!isOutage(error) || clock.now() + delayMs > deadline) throw error;
        health.report('store', 'database', (error as Error).message);
        if (tries === 1) {
          logger.warn('store unavailable; retrying', { operation, error: serializeError(error) });
        }
        tries += 1;
        await new Promise<void>((resolve) => clock.setTimer(delayMs, resolve));
      }
    }
  }
}

function isOutage(error: unknown): boolean {
  if (!(error instanceof AutomatError) || error.code !== ErrorCodes.STORE_UNAVAILABLE) {
    return false;
  }
  // A store closed on purpose is not coming back.
  return !/the store was closed/.test(error.message);
}
