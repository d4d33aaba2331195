/**
 * Crash recovery across processes: executor A (a real `automat0 serve` child process) runs a
 * trial and is killed with SIGKILL after its first checkpoint; executor B (in this process, on
 * another work folder, as on another machine) sees the lease lapse, takes the trial over,
 * resumes it from the checkpoint in S3 and completes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialStateName } from '../src/contracts/index.js';
import { TrialRecovery } from '../src/executor/trial-recovery.js';
import { isTerminal as isTerminalState } from '../src/trial/trial-fsm.js';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/clock/clock.js';
import {
  AMQP_URL,
  DATABASE_URL,
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { loadS3Env } from './support/s3-env.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { until, waitFor } from './support/wait-for.js';

const LEASE_TTL_MS = 2_000;

describe('taking over the trial of an executor killed with SIGKILL', () => {
  let h: ExecutorHarness;
  let dataset: string;
  let workDirA: string;
  let executorA: ChildProcess | undefined;
  let recovery: TrialRecovery | undefined;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness({ executorId: 'exec-b', leaseTtlMs: LEASE_TTL_MS });
    workDirA = await mkdtemp(join(tmpdir(), 'automat0-exec-a-'));
    dataset = join(h.workDir, 'medium.jsonl');
    await writeSyntheticDataset(dataset, { rows: 3000, wordsPerLine: 24 });
    await h.bus.subscribe('automat.#', (_key, m) => received.push(m as Record<string, unknown>));
  });

  afterAll(async () => {
    recovery?.stop();
    if (executorA && executorA.exitCode === null) executorA.kill('SIGKILL');
    await h?.cleanup();
    await rm(workDirA, { recursive: true, force: true });
  });

  function startExecutorA(): ChildProcess {
    const s3 = loadS3Env();
    const n = h.names;
    return spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
      env: {
        ...process.env,
        AUTOMAT_AMQP_URL: AMQP_URL,
        AUTOMAT_DATABASE_URL: DATABASE_URL,
        AUTOMAT_DB_SCHEMA: h.schema,
        AUTOMAT_S3_ENDPOINT: s3.endpoint,
        AUTOMAT_S3_REGION: s3.region,
        AUTOMAT_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AUTOMAT_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AUTOMAT_S3_BUCKET: s3.bucket,
        AUTOMAT_S3_PREFIX: h.s3Prefix,
        AUTOMAT_WORK_DIR: workDirA,
        AUTOMAT_INPUT_ROOTS: h.workDir,
        AUTOMAT_EXECUTOR_ID: 'exec-a',
        AUTOMAT_LEASE_TTL_MS: String(LEASE_TTL_MS),
        AUTOMAT_EXCHANGE: n.exchange,
        AUTOMAT_INTAKE_QUEUE: n.intakeQueue,
        AUTOMAT_DLX: n.deadLetterExchange,
        AUTOMAT_DEAD_LETTER_QUEUE: n.deadLetterQueue,
        AUTOMAT_CONTROL_QUEUE: n.controlQueue,
        AUTOMAT_LOG_LEVEL: 'warn',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  it('resumes it from the checkpoint in S3 and completes it, its bus stream unbroken', async () => {
    const trialId = `${h.id}-takeover`;
    executorA = startExecutorA();
    await h.bus.submit(
      syntheticSpec(trialId, dataset, {
        seq_len: 32,
        hparams: { epochs: 4, batch_size: 32, learning_rate: 0.05, max_failures: 1, patience: 10 },
      }),
    );
    const mine = () => received.filter((m) => m.trial_id === trialId);
    await waitFor(
      () => mine().some((m) => m.type === 'heartbeat.checkpoint'),
      90_000,
      'a checkpoint',
    );
    await until(async () => (await h.store.listCheckpoints(trialId)).length > 0, 15_000);
    executorA.kill('SIGKILL');
    await new Promise((resolve) => executorA?.once('exit', resolve));
    expect((await h.store.getTrial(trialId))?.owner).toBe('exec-a');

    recovery = new TrialRecovery({
      executor: h.executor,
      clock: systemClock,
      logger: silentLogger,
      scanMs: 500,
    });
    await recovery.start();
    await waitFor(() => h.executor.trialIds.includes(trialId), LEASE_TTL_MS * 5, 'the takeover');
    const record = await waitForTerminal(trialId, 120_000);

    expect(record).toMatchObject({ state: 'completed', owner: 'exec-b', attempt: 2 });
    const transitions = await h.store.listTransitions(trialId);
    const takeover = transitions.find((t) => t.reason.startsWith('taken over'));
    expect(takeover).toMatchObject({ from: 'running', to: 'launching', attempt: 2 });
    expect(takeover?.reason).toContain('exec-a stopped renewing its lease');

    await h.executor.flushMirror();
    const messages = await h.store.listMessages(trialId);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i));
    expect(await h.store.listUnpublished(trialId, 100)).toEqual([]);
    const checkpoints = await h.store.listCheckpoints(trialId);
    const resumed = Math.max(...checkpoints.filter((c) => c.attempt === 1).map((c) => c.epoch));
    const hello = mine().find((m) => m.type === 'heartbeat.hello' && m.attempt === 2);
    expect(hello?.start_epoch).toBe(resumed + 1);
    expect(mine().find((m) => m.type === 'trial.taken_over')).toMatchObject({
      executor: 'exec-b',
      previous_executor: 'exec-a',
      resume_epoch: resumed,
    });
    await waitFor(() => h.executor.trialIds.length === 0, 10_000, 'the trial to leave B');
  }, 240_000);

  async function waitForTerminal(trialId: string, timeoutMs: number) {
    await until(async () => isTerminal((await h.store.getTrial(trialId))?.state), timeoutMs);
    return h.store.getTrial(trialId);
  }
});

function isTerminal(state: TrialStateName | undefined): boolean {
  return state !== undefined && isTerminalState(state);
}
