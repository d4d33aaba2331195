import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import {
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { waitFor } from './support/wait-for.js';

describe('retries with a real worker', () => {
  let h: ExecutorHarness;
  let dataset: string;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness({ policy: { retryBaseDelayMs: 1_000 } });
    dataset = join(h.workDir, 'medium.jsonl');
    await writeSyntheticDataset(dataset, { rows: 3000, wordsPerLine: 24 });
    await h.bus.subscribe('automat.#', (_key, message) =>
      received.push(message as Record<string, unknown>),
    );
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it('retries a worker killed with SIGKILL from its checkpoint (fetched from S3) and completes', async () => {
    const trialId = `${h.id}-sigkill`;
    const spec = contracts.trialSpec.parse(
      syntheticSpec(trialId, dataset, {
        seq_len: 32,
        hparams: { epochs: 4, batch_size: 32, learning_rate: 0.05, max_failures: 1, patience: 10 },
      }),
    );
    await h.store.createTrial(spec, new Date().toISOString());
    const started = Date.now();
    const outcome = h.executor.submit(resolveTrialSpec(spec));

    const mine = () => received.filter((m) => m.trial_id === trialId);
    await waitFor(
      () => mine().some((m) => m.type === 'heartbeat.checkpoint' && m.attempt === 1),
      60_000,
      'the first checkpoint of attempt 1',
    );
    await waitFor(() => checkpointsStored > 0, 10_000, 'the checkpoint upload');
    const hello = mine().find((m) => m.type === 'heartbeat.hello');
    process.kill(Number(hello?.pid), 'SIGKILL');
    // The local folder goes too, so the retry must download the checkpoint from S3.
    await rm(join(h.workDir, 'checkpoints', trialId, '1'), { recursive: true, force: true });
    // Attempt 2 said hello, so it loaded its checkpoint: from the folder the download wrote,
    // which stays until the trial ends and its local checkpoints are removed.
    await waitFor(
      () => mine().some((m) => m.type === 'heartbeat.hello' && m.attempt === 2),
      60_000,
      'attempt 2 to start',
    );
    const downloaded = join(h.workDir, 'checkpoints', trialId, '2', 'resume');
    const resumeFolders = await readdir(downloaded);

    const result = await outcome;
    console.log(`SIGKILL retry trial took ${Date.now() - started} ms`);
    expect(result).toMatchObject({ state: 'completed', stopReason: 'completed', attempts: 2 });
    expect(result.epochsCompleted).toBe(4);
    const stored = (await h.store.listCheckpoints(trialId)).map((c) => c.uri);
    expect(stored).toContain(result.bestCheckpointUri);

    const transitions = await h.store.listTransitions(trialId);
    const retry = transitions.find((t) => t.from === 'running' && t.to === 'launching');
    expect(retry?.reason).toContain('SIGKILL');
    expect(retry?.attempt).toBe(2);

    await h.executor.flushMirror();
    const secondHello = mine().find((m) => m.type === 'heartbeat.hello' && m.attempt === 2);
    const checkpoints = await h.store.listCheckpoints(trialId);
    const resumedFrom = Math.max(...checkpoints.filter((c) => c.attempt === 1).map((c) => c.epoch));
    expect(secondHello?.start_epoch).toBe(resumedFrom + 1);
    const epochs = await h.store.listEpochs(trialId);
    expect(epochs.filter((e) => e.attempt === 2).map((e) => e.epoch)[0]).toBe(resumedFrom + 1);
    expect(resumeFolders).toEqual([`epoch-${resumedFrom}`]);
    await expect(access(join(h.workDir, 'checkpoints', trialId))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  }, 120_000);

  let checkpointsStored = 0;
  beforeAll(() => {
    const timer = setInterval(() => {
      void h?.store
        .listCheckpoints(`${h.id}-sigkill`)
        .then((rows) => (checkpointsStored = rows.length))
        .catch(() => undefined);
    }, 50);
    timer.unref();
    return () => clearInterval(timer);
  });
});
