import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import {
  CREATE_MIGRATIONS_TABLE,
  INSERT_APPLIED_VERSION,
  MIGRATIONS,
  SELECT_APPLIED_VERSIONS,
  pendingMigrations,
} from './schema.js';
import type { SqlExecutor } from './sql-driver.js';

/**
 * Runs the migrations `tx` has not seen yet, in order, inside the caller's migration transaction
 * (which holds the cross-process lock). A schema newer than this build is left alone, with a
 * warning.
 */
export async function applyMigrations(
  tx: SqlExecutor,
  context: { backend: string; clock: Clock; log: Logger },
): Promise<void> {
  const { backend, clock, log } = context;
  await tx.execute(CREATE_MIGRATIONS_TABLE);
  const rows = await tx.query<{ version: number | string }>(SELECT_APPLIED_VERSIONS);
  const applied = new Set(rows.map((r) => Number(r.version)));
  const newest = MIGRATIONS.at(-1)?.version ?? 0;
  const unknown = [...applied].filter((v) => v > newest);
  if (unknown.length > 0) log.warn('database schema is newer than this build', { unknown, newest });
  for (const migration of pendingMigrations(applied)) {
    for (const statement of migration.statements) await tx.execute(statement);
    const at = new Date(clock.now()).toISOString();
    await tx.execute(INSERT_APPLIED_VERSION, [migration.version, migration.name, at]);
    log.info('store migration applied', {
      backend,
      version: migration.version,
      name: migration.name,
    });
  }
}
