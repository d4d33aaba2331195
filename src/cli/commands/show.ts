import { loadConfig } from '../../config/config.js';
import { existsSync } from 'node:fs';
import { embeddedDatabasePath, openStore } from '../../executor/runtime.js';
import { ErrorCodes } from '../../errors/index.js';
import { createLogger } from '../../log/logger.js';
import { isTerminal } from '../../trial/trial-fsm.js';
import { formatEpochTable, formatTrialRecord } from '../print-trial.js';

export interface ShowOptions {
  /** Read the executor's Postgres database instead of the local embedded one. */
  server?: boolean;
}

/** `automat0 show <trial_id>`: a stored trial, its result and its epochs. */
export async function showCommand(trialId: string, options: ShowOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'warn', format: 'pretty' });
  if (!options.server && !existsSync(embeddedDatabasePath(config))) {
    console.error(
      `no local database at ${embeddedDatabasePath(config)}: run a trial with \`automat0 run\`, ` +
        "or read the executor's database with --server",
    );
    return 1;
  }
  // A read: it must not create tables, nor a schema named by a typo.
  const store = await openStore(config, logger, options.server ? 'server' : 'embedded', {
    migrate: false,
  });
  try {
    const record = await store.getTrial(trialId).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== ErrorCodes.STORE_NOT_MIGRATED) throw error;
      return 'no tables' as const;
    });
    if (record === 'no tables') {
      const where = options.server
        ? `schema ${JSON.stringify(config.databaseSchema)} of the executor's database ` +
          '(is AUTOMAT_DB_SCHEMA right?)'
        : embeddedDatabasePath(config);
      console.error(`no Automat0 tables in ${where}`);
      return 1;
    }
    if (!record) {
      const where = options.server
        ? "the executor's database"
        : 'the local database (try --server)';
      console.error(`no trial ${JSON.stringify(trialId)} in ${where}`);
      return 1;
    }
    const [transitions, epochs, checkpoints, handovers] = await Promise.all([
      store.listTransitions(trialId),
      store.listEpochs(trialId),
      store.listCheckpoints(trialId),
      store.listHandovers(trialId),
    ]);
    // A handover records no transition: the trial stays as it was, waiting for an executor.
    const handover = handovers.at(-1);
    const why =
      handover && handover.attempt === record.attempt && !isTerminal(record.state)
        ? `handed over by ${handover.executor} at shutdown; the next executor resumes it` +
          (handover.resumeEpoch === null ? '' : ` from epoch ${handover.resumeEpoch}`)
        : transitions.at(-1)?.reason;
    console.log(formatTrialRecord(record, { why, epochs, checkpoints }));
    console.log(
      epochs.length === 0
        ? '\nno epochs recorded'
        : `\n${formatEpochTable(epochs, record.spec.primary_metric)}`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
