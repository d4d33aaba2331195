/**
 * `npm run test:faults`: fault injection against private RabbitMQ, Postgres and S3 instances
 * (scripts/faults/private-services.sh), so that stopping them disturbs nothing else. Prints a
 * table — scenario, trials started and terminal, events produced vs received after
 * de-duplication by seq, duplicates, time to recover — and exits 0 only when nothing was lost.
 * `--only <substring>` runs the matching scenarios.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FaultWorld, privateEnv, services, type ScenarioResult } from './faults/fault-harness.js';
import { HealthWatch } from './faults/health-watch.js';
import { DELIVERY_TIMEOUT_MS, scenarios } from './faults/scenarios.js';

const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]
  : undefined;
const workDir = join(process.cwd(), '.automat', 'faults');
mkdirSync(join(workDir, 'logs'), { recursive: true });
execFileSync(process.execPath, ['dist/scripts/prepare-spam-assassin.js', '--if-missing'], {
  stdio: 'inherit',
});

const envFile = execFileSync('bash', ['scripts/faults/private-services.sh', 'start'], {
  encoding: 'utf8',
}).trim();
const env = privateEnv(envFile);
const results: ScenarioResult[] = [];
try {
  for (const [name, run] of Object.entries(scenarios)) {
    if (only && !name.toLowerCase().includes(only.toLowerCase())) continue;
    console.log(`\n== ${name}`);
    results.push(await runScenario(name, run));
    console.log(JSON.stringify(results.at(-1)));
  }
} finally {
  services('stop');
}

printTable(results);
process.exit(results.every((r) => r.ok) ? 0 : 1);

async function runScenario(name: string, run: (typeof scenarios)[string]): Promise<ScenarioResult> {
  services('start');
  const world = new FaultWorld(name, env, workDir);
  world.health = new HealthWatch(await HealthWatch.freePort());
  await world.observer.start();
  world.startExecutor();
  world.health.start();
  let extra: Partial<ScenarioResult> = {};
  let error: string | undefined;
  try {
    extra = await run(world);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  // Whatever an outage held back in the outbox gets its chance to arrive before counting.
  await world.waitDelivered(Date.now(), DELIVERY_TIMEOUT_MS);
  const healthy = await world.health.waitFor('ok', 15_000);
  const terminal = await world.countTerminal().catch(() => 0);
  const counts = await world.eventCounts().catch(() => ({ produced: 0, received: 0, started: 0 }));
  world.health.stop();
  await world.stopExecutor();
  await world.observer.close();
  const lossless =
    terminal === world.trialIds.length &&
    counts.received === counts.produced &&
    counts.produced > 0;
  return {
    scenario: name,
    trialsStarted: counts.started,
    trialsTerminal: terminal,
    eventsProduced: counts.produced,
    eventsReceived: counts.received,
    duplicates: world.observer.duplicates,
    recoverMs: extra.recoverMs ?? null,
    ok: lossless && healthy && extra.ok !== false && !error,
    notes: [`health ${world.health.summary()}`, extra.notes, error].filter(Boolean).join('; '),
  };
}

function printTable(rows: ScenarioResult[]): void {
  const header = [
    'scenario',
    'started',
    'terminal',
    'events',
    'received',
    'dups',
    'recover',
    'ok',
    'notes',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.trialsStarted),
    String(r.trialsTerminal),
    String(r.eventsProduced),
    String(r.eventsReceived),
    String(r.duplicates),
    r.recoverMs === null ? '-' : `${(r.recoverMs / 1000).toFixed(1)} s`,
    r.ok ? 'yes' : 'NO',
    r.notes,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const c of cells) console.log(line(c));
}
