import type { TrialStateName } from '../contracts/index.js';
import type { SqlExecutor } from './sql-driver.js';
import type { StoreOperationRunner } from './sql-outbox-leases.js';
import { PendingCancelQueries as Q, TrialStoreQueries as TrialQ } from './trial-store-queries.js';
import { toPendingCancel, type PendingCancelRow } from './trial-store-rows.js';
import type { PendingCancel, PendingCancelStore } from './trial-store.js';

/**
 * The pending-cancel statements of {@link SqlTrialStore}. Each runs on its own, outside any
 * transaction: the guarantee of PendingCancelStore needs the cancel committed before the trial
 * is looked up, which one transaction under PostgreSQL's READ COMMITTED would not give.
 */
export class SqlPendingCancels implements PendingCancelStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly run: StoreOperationRunner,
  ) {}

  recordPendingCancel(cancel: PendingCancel): Promise<TrialStateName | null> {
    return this.run('recordPendingCancel', async () => {
      const { trialId, reason, commandId, requestedAt, expiresAt } = cancel;
      await this.db.execute(Q.purgeExpiredCancels, [requestedAt]);
      const params = [trialId, reason, commandId, requestedAt, expiresAt];
      await this.db.execute(Q.upsertPendingCancel, params);
      const [trial] = await this.db.query<{ state: string }>(TrialQ.selectTrialState, [trialId]);
      return trial === undefined ? null : (trial.state as TrialStateName);
    });
  }

  getPendingCancel(trialId: string, now: string): Promise<PendingCancel | undefined> {
    return this.run('getPendingCancel', async () => {
      const [row] = await this.db.query<PendingCancelRow>(Q.selectPendingCancel, [trialId, now]);
      return row === undefined ? undefined : toPendingCancel(row);
    });
  }

  deletePendingCancel(trialId: string): Promise<boolean> {
    return this.run('deletePendingCancel', async () => {
      return (await this.db.execute(Q.deletePendingCancel, [trialId])) > 0;
    });
  }
}
