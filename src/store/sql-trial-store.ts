import { systemClock, type Clock } from '../clock/clock.js';
import type { TrialSpec, TrialStateName } from '../contracts/index.js';
import { ErrorCodes, serializeError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { applyMigrations } from './apply-migrations.js';
import type { SqlDriver, SqlExecutor } from './sql-driver.js';
import { StoreError, toStoreError } from './store-errors.js';
import { TrialStoreQueries as Q } from './trial-store-queries.js';
import {
  finiteOrNull,
  toBatchBackoffRecord,
  toCheckpointRecord,
  toEpochRecord,
  toJson,
  toJsonOrNull,
  toStoredMessage,
  toStoredTransition,
  toTrialRecord,
  type BatchBackoffRow,
  type CheckpointRow,
  type EpochRow,
  type MessageRow,
  type TransitionRow,
  type TrialRow,
} from './trial-store-rows.js';
import { SqlOutboxLeases } from './sql-outbox-leases.js';
import { SqlPendingCancels } from './sql-pending-cancels.js';
import type {
  BatchBackoffRecord,
  Lease,
  PendingCancel,
  CheckpointRecord,
  EpochRecord,
  HandoverRecord,
  ResultInput,
  StoredMessage,
  TransitionInput,
  StoredTransition,
  TrialRecord,
  TrialStore,
} from './trial-store.js';

/**
 * The trial store over any {@link SqlDriver}: the SQL, the row mapping and the error translation
 * live here once, and the Postgres and SQLite stores only supply a driver.
 */
export class SqlTrialStore implements TrialStore {
  readonly #driver: SqlDriver;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #outboxLeases: SqlOutboxLeases;
  readonly #pendingCancels: SqlPendingCancels;
  #closing: Promise<void> | undefined;
  #closedBy: Error | undefined;

  constructor(driver: SqlDriver, logger: Logger, clock: Clock = systemClock) {
    this.#driver = driver;
    this.#log = logger;
    this.#clock = clock;
    const run = <T>(operation: string, body: () => Promise<T>) => this.#run(operation, body);
    this.#outboxLeases = new SqlOutboxLeases(driver, run);
    this.#pendingCancels = new SqlPendingCancels(driver, run);
  }

  migrate(): Promise<void> {
    return this.#run('migrate', () =>
      this.#driver.migrationTransaction((tx) =>
        applyMigrations(tx, { backend: this.#driver.name, clock: this.#clock, log: this.#log }),
      ),
    );
  }

  createTrial(spec: TrialSpec, at: string, lease?: Lease): Promise<{ created: boolean }> {
    return this.#run('createTrial', async () => {
      const params = [
        spec.trial_id,
        toJson(spec),
        at,
        lease?.owner ?? null,
        lease?.expiresAt ?? null,
      ];
      const inserted = await this.#driver.execute(Q.insertTrial, params);
      if (inserted === 0) this.#log.debug('trial already stored', { trialId: spec.trial_id });
      return { created: inserted === 1 };
    });
  }

  recordTransition(t: TransitionInput): Promise<void> {
    return this.#run('recordTransition', () =>
      this.#driver.transaction(async (tx) => {
        const { position, attempt } = await this.#advance(tx, t);
        await tx.execute(Q.insertTransition, [
          t.trialId,
          position,
          t.from,
          t.to,
          t.reason,
          t.stopReason ?? null,
          toJsonOrNull(t.error),
          attempt,
          t.at,
        ]);
      }),
    );
  }

  recordMessage(m: StoredMessage): Promise<{ recorded: boolean }> {
    return this.#run('recordMessage', async () => {
      const { trialId, seq, type, payload, recordedAt, publishedAt } = m;
      const params = [trialId, seq, type, toJson(payload), recordedAt, publishedAt ?? null];
      const inserted = await this.#driver.execute(Q.insertMessage, params);
      if (inserted === 0) {
        this.#log.debug('duplicate message ignored', { trialId: m.trialId, seq: m.seq });
      }
      return { recorded: inserted === 1 };
    });
  }

  recordEpoch(e: EpochRecord): Promise<void> {
    return this.#run('recordEpoch', async () => {
      await this.#driver.execute(Q.upsertEpoch, [
        e.trialId,
        e.attempt,
        e.epoch,
        finiteOrNull(e.primary),
        toJson(e.metrics),
        e.durationMs,
        e.recordedAt,
      ]);
    });
  }

  recordCheckpoint(c: CheckpointRecord): Promise<void> {
    return this.#run('recordCheckpoint', async () => {
      const files = c.files ? toJson(c.files) : null;
      const params = [c.trialId, c.attempt, c.epoch, c.uri, c.bytes, c.recordedAt, files];
      await this.#driver.execute(Q.upsertCheckpoint, params);
    });
  }

  recordResult(r: ResultInput): Promise<void> {
    return this.#run('recordResult', async () => {
      const params = [r.trialId, toJsonOrNull(r.bestMetric), r.bestCheckpointUri, r.at];
      const updated = await this.#driver.execute(Q.updateResult, params);
      if (updated === 0) throw this.#unknownTrial('recordResult', r.trialId);
    });
  }

  getTrial(trialId: string): Promise<TrialRecord | undefined> {
    return this.#run('getTrial', async () => {
      const [row] = await this.#driver.query<TrialRow>(Q.selectTrial, [trialId]);
      return row === undefined ? undefined : toTrialRecord(row);
    });
  }

  listEpochs(trialId: string): Promise<EpochRecord[]> {
    return this.#run('listEpochs', async () => {
      const rows = await this.#driver.query<EpochRow>(Q.selectEpochs, [trialId]);
      return rows.map(toEpochRecord);
    });
  }

  listCheckpoints(trialId: string): Promise<CheckpointRecord[]> {
    return this.#run('listCheckpoints', async () => {
      const rows = await this.#driver.query<CheckpointRow>(Q.selectCheckpoints, [trialId]);
      return rows.map(toCheckpointRecord);
    });
  }

  listMessages(trialId: string): Promise<StoredMessage[]> {
    return this.#run('listMessages', async () => {
      const rows = await this.#driver.query<MessageRow>(Q.selectMessages, [trialId]);
      return rows.map(toStoredMessage);
    });
  }

  listTransitions(trialId: string): Promise<StoredTransition[]> {
    return this.#run('listTransitions', async () => {
      const rows = await this.#driver.query<TransitionRow>(Q.selectTransitions, [trialId]);
      return rows.map(toStoredTransition);
    });
  }

  recordBatchBackoff(b: BatchBackoffRecord): Promise<void> {
    return this.#run('recordBatchBackoff', async () => {
      await this.#driver.execute(Q.upsertBatchBackoff, [
        b.trialId,
        b.attempt,
        b.nextAttempt,
        b.batchBefore,
        b.batchAfter,
        b.reason,
        b.recordedAt,
      ]);
    });
  }

  listBatchBackoffs(trialId: string): Promise<BatchBackoffRecord[]> {
    return this.#run('listBatchBackoffs', async () => {
      const rows = await this.#driver.query<BatchBackoffRow>(Q.selectBatchBackoffs, [trialId]);
      return rows.map(toBatchBackoffRecord);
    });
  }

  listUnpublished(trialId: string, limit: number): Promise<StoredMessage[]> {
    return this.#outboxLeases.listUnpublished(trialId, limit);
  }

  listTrialsWithUnpublished(owner: string, now: string, limit: number): Promise<string[]> {
    return this.#outboxLeases.listTrialsWithUnpublished(owner, now, limit);
  }

  markPublished(trialId: string, seq: number, at: string): Promise<void> {
    return this.#outboxLeases.markPublished(trialId, seq, at);
  }

  nextSeq(trialId: string): Promise<number> {
    return this.#outboxLeases.nextSeq(trialId);
  }

  claimTrial(trialId: string, lease: Lease, now: string): Promise<boolean> {
    return this.#outboxLeases.claimTrial(trialId, lease, now);
  }

  renewLeases(lease: Lease): Promise<string[]> {
    return this.#outboxLeases.renewLeases(lease);
  }

  listOrphanedTrials(now: string, limit: number): Promise<string[]> {
    return this.#outboxLeases.listOrphanedTrials(now, limit);
  }

  recordPendingCancel(cancel: PendingCancel): Promise<TrialStateName | null> {
    return this.#pendingCancels.recordPendingCancel(cancel);
  }

  getPendingCancel(trialId: string, now: string): Promise<PendingCancel | undefined> {
    return this.#pendingCancels.getPendingCancel(trialId, now);
  }

  deletePendingCancel(trialId: string): Promise<boolean> {
    return this.#pendingCancels.deletePendingCancel(trialId);
  }

  releaseLease(trialId: string, owner: string): Promise<boolean> {
    return this.#outboxLeases.releaseLease(trialId, owner);
  }

  recordHandover(handover: HandoverRecord): Promise<void> {
    return this.#outboxLeases.recordHandover(handover);
  }

  listHandovers(trialId: string): Promise<HandoverRecord[]> {
    return this.#outboxLeases.listHandovers(trialId);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Kept as the cause of later "store was closed" errors: its stack shows who closed it.
    this.#closedBy = new Error(`${this.#driver.name} trial store closed`);
    try {
      await this.#driver.close();
      this.#log.info('trial store closed', { backend: this.#driver.name });
    } catch (error) {
      const storeError = toStoreError(error, 'close');
      this.#log.error('trial store close failed', {
        backend: this.#driver.name,
        error: serializeError(storeError),
      });
      throw storeError;
    }
  }

  /** Runs one operation: refuses it after close() and translates whatever it throws. */
  async #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.#closedBy !== undefined) {
      throw new StoreError(
        ErrorCodes.STORE_UNAVAILABLE,
        `trial store ${operation} failed: the store was closed`,
        operation,
        undefined,
        { cause: this.#closedBy },
      );
    }
    try {
      return await body();
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /** Moves the trial row; returns the new transition position and the attempt after the move. */
  async #advance(
    tx: SqlExecutor,
    t: TransitionInput,
  ): Promise<{ position: number; attempt: number }> {
    const [advanced] = await tx.query<{ transition_count: number; attempt: number }>(
      Q.advanceTrial,
      [
        t.trialId,
        t.from,
        t.to,
        t.stopReason ?? null,
        toJsonOrNull(t.error),
        t.attempt ?? null,
        t.at,
      ],
    );
    if (advanced !== undefined) {
      return { position: Number(advanced.transition_count), attempt: Number(advanced.attempt) };
    }

    const [current] = await tx.query<{ state: string; transition_count: number }>(
      Q.selectTrialState,
      [t.trialId],
    );
    if (current === undefined) throw this.#unknownTrial('recordTransition', t.trialId);
    const note = Number(current.transition_count) === 0 ? ' with no move recorded yet' : '';
    throw new StoreError(
      ErrorCodes.STORE_CONFLICT,
      `trial store recordTransition failed: trial "${t.trialId}" is in state ${current.state}` +
        `${note}, not ${t.from ?? 'null'}, so it cannot move to ${t.to}`,
      'recordTransition',
      undefined,
    );
  }

  #unknownTrial(operation: string, trialId: string): StoreError {
    return new StoreError(
      ErrorCodes.STORE_CONFLICT,
      `trial store ${operation} failed: trial "${trialId}" is not stored (call createTrial first)`,
      operation,
      undefined,
    );
  }
}
