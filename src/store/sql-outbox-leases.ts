import type { SqlExecutor } from './sql-driver.js';
import { OutboxLeaseQueries as Q } from './trial-store-queries.js';
import {
  toHandoverRecord,
  toStoredMessage,
  type HandoverRow,
  type MessageRow,
} from './trial-store-rows.js';
import type {
  HandoverRecord,
  Lease,
  LeaseStore,
  OutboxStore,
  StoredMessage,
} from './trial-store.js';

/** Runs one named store operation, refusing it after close and translating driver errors. */
export type StoreOperationRunner = <T>(operation: string, body: () => Promise<T>) => Promise<T>;

/**
 * The outbox, lease and handover statements of {@link SqlTrialStore}, kept apart from the trial
 * record's own: they are what crash recovery, graceful handover and the outbox relay ask of the
 * database.
 */
export class SqlOutboxLeases implements OutboxStore, LeaseStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly run: StoreOperationRunner,
  ) {}

  listUnpublished(trialId: string, limit: number): Promise<StoredMessage[]> {
    return this.run('listUnpublished', async () => {
      const rows = await this.db.query<MessageRow>(Q.selectUnpublished, [trialId, limit]);
      return rows.map(toStoredMessage);
    });
  }

  listTrialsWithUnpublished(owner: string, now: string, limit: number): Promise<string[]> {
    return this.run('listTrialsWithUnpublished', async () => {
      const rows = await this.db.query<{ trial_id: string }>(Q.selectTrialsWithUnpublished, [
        owner,
        now,
        limit,
      ]);
      return rows.map((row) => row.trial_id);
    });
  }

  markPublished(trialId: string, seq: number, at: string): Promise<void> {
    return this.run('markPublished', async () => {
      await this.db.execute(Q.markPublished, [trialId, seq, at]);
    });
  }

  nextSeq(trialId: string): Promise<number> {
    return this.run('nextSeq', async () => {
      const [row] = await this.db.query<{ next_seq: number | string }>(Q.selectNextSeq, [trialId]);
      return Number(row?.next_seq ?? 0);
    });
  }

  claimTrial(trialId: string, lease: Lease, now: string): Promise<boolean> {
    return this.run('claimTrial', async () => {
      const params = [trialId, lease.owner, lease.expiresAt, now];
      return (await this.db.execute(Q.claimTrial, params)) === 1;
    });
  }

  renewLeases(lease: Lease): Promise<string[]> {
    return this.run('renewLeases', async () => {
      const rows = await this.db.query<{ trial_id: string }>(Q.renewLeases, [
        lease.owner,
        lease.expiresAt,
      ]);
      return rows.map((row) => row.trial_id).sort();
    });
  }

  listOrphanedTrials(now: string, limit: number): Promise<string[]> {
    return this.run('listOrphanedTrials', async () => {
      const rows = await this.db.query<{ trial_id: string }>(Q.selectOrphanedTrials, [now, limit]);
      return rows.map((row) => row.trial_id);
    });
  }

  releaseLease(trialId: string, owner: string): Promise<boolean> {
    return this.run('releaseLease', async () => {
      return (await this.db.execute(Q.releaseLease, [trialId, owner])) === 1;
    });
  }

  recordHandover(h: HandoverRecord): Promise<void> {
    return this.run('recordHandover', async () => {
      await this.db.execute(Q.upsertHandover, [
        h.trialId,
        h.attempt,
        h.executor,
        h.state,
        h.resumeEpoch,
        h.reason,
        h.recordedAt,
      ]);
    });
  }

  listHandovers(trialId: string): Promise<HandoverRecord[]> {
    return this.run('listHandovers', async () => {
      const rows = await this.db.query<HandoverRow>(Q.selectHandovers, [trialId]);
      return rows.map(toHandoverRecord);
    });
  }
}
