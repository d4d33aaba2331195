import { readFile } from 'node:fs/promises';
import { contracts, type TrialSpec } from '../../contracts/index.js';
import { Executor } from '../../executor/executor.js';
import { createEmbeddedRuntime, executorOptions } from '../../executor/runtime.js';
import { loadConfig } from '../../config/config.js';
import { AutomatError, ErrorCodes } from '../../errors/index.js';
import { createLogger } from '../../log/logger.js';
import type { TrialStore } from '../../store/trial-store.js';
import { checkInputLocations, createInputPolicy } from '../../policy/input-policy.js';
import { resolveTrialSpec } from '../../trial/resolve-trial-spec.js';
import { formatEpochTable, formatOutcome } from '../print-trial.js';

export interface RunOptions {
  trialId?: string;
}

/**
 * `automat0 run <spec>`: one trial in this process with no servers — in-process bus, SQLite in
 * the work folder, checkpoints on local disk. The result stays in the work folder's database,
 * where `automat0 show` reads it later.
 */
export async function runCommand(specPath: string, options: RunOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'info', format: 'pretty' });
  const spec = contracts.trialSpec.parseJson(await readSpecFile(specPath));
  // An override must meet the same rule as the field in the file.
  if (options.trialId !== undefined) {
    contracts.trialSpec.parse({ ...spec, trial_id: options.trialId });
  }
  const runtime = await createEmbeddedRuntime(config, logger);
  // In-process and one-shot: nobody could take the trial over, so Ctrl-C cancels it.
  const executor = new Executor(runtime, executorOptions(config, 1, 'cancel'));
  try {
    const trialSpec = await claimTrialId(runtime.store, spec, options.trialId);
    const trial = resolveTrialSpec(trialSpec);
    checkInputLocations(trialSpec, createInputPolicy(config.inputRoots, config.inputSchemes));
    await runtime.store.createTrial(trialSpec, new Date().toISOString());
    console.log(`running ${trialSpec.trial_id} (results in ${config.workDir})`);

    const live = await runtime.bus.subscribe(
      `automat.heartbeats.${trialSpec.trial_id}`,
      (_key, message) => printLive(message),
    );
    // Timers are unref'd so that they never hold a server open; here nothing else keeps the
    // event loop alive while a trial waits for a retry, so hold it until the outcome.
    const keepAlive = setInterval(() => undefined, 60_000);
    const stopOnSignal = cancelOnSignal(executor, trialSpec.trial_id);
    const outcome = await executor.submit(trial).finally(() => {
      clearInterval(keepAlive);
      stopOnSignal();
    });
    await live.close();

    const epochs = await runtime.store.listEpochs(trialSpec.trial_id);
    console.log(`\n${formatEpochTable(epochs, trialSpec.primary_metric)}\n`);
    console.log(formatOutcome(outcome));
    return outcome.state === 'failed' ? 1 : 0;
  } finally {
    await executor.close();
  }
}

/**
 * Ctrl-C (or SIGTERM) cancels the trial after its current epoch, as a planner's cancel would,
 * so the result is recorded; a second one exits at once, leaving the trial unended. Returns
 * what removes the handlers.
 */
function cancelOnSignal(executor: Executor, trialId: string): () => void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      console.error(`${signal} again: exiting now; ${trialId} stays unended`);
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: cancelling ${trialId} after its current epoch (again to quit now)`);
    void executor.cancel(trialId, `interrupted (${signal})`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Reads a spec file, turning a missing or unreadable file into a clear error. */
export async function readSpecFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder; name a TrialSpec JSON file'
          : (error as Error).message;
    throw new AutomatError(
      ErrorCodes.CONFIG_INVALID,
      `cannot read the spec file ${path}: ${reason}`,
    );
  }
}

/** A trial id already in the local database gets a `-rN` suffix, so `npm start` can repeat. */
async function claimTrialId(
  store: TrialStore,
  spec: TrialSpec,
  wanted?: string,
): Promise<TrialSpec> {
  const base = wanted ?? spec.trial_id;
  if (!(await store.getTrial(base))) return { ...spec, trial_id: base };
  for (let n = 2; ; n += 1) {
    const candidate = `${base}-r${n}`;
    if (!(await store.getTrial(candidate))) return { ...spec, trial_id: candidate };
  }
}

function printLive(message: unknown): void {
  const m = message as { type?: string; epoch?: number; metrics?: Record<string, number | null> };
  if (m.type !== 'heartbeat.epoch' || !m.metrics) return;
  const shown = (key: string, value: number | null | undefined): string => {
    if (value === null || value === undefined) return '-';
    return key === 'tokens_per_s' ? String(Math.round(value)) : String(Number(value.toFixed(4)));
  };
  const metrics = Object.entries(m.metrics)
    .map(([key, value]) => `${key}=${shown(key, value)}`)
    .join(' ');
  console.log(`epoch ${m.epoch}: ${metrics}`);
}
