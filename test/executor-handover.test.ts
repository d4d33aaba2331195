/**
 * A graceful shutdown loses no more than a crash: executor A (shutdown: hand_over) runs one
 * trial and holds another queued when it closes; neither ends. Executor B, on the same schema
 * and bus names but its own work folder (as on another machine), claims both at once — long
 * before their leases could have lapsed — resumes the running one from A's last checkpoint (in
 * S3) without counting a failure (max_failures 0), and completes both, their streams unbroken.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock/clock.js';
import { contracts } from '../src/contracts/index.js';
import { TrialRecovery } from '../src/executor/trial-recovery.js';
import { silentLogger } from '../src/log/logger.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import { isTerminal } from '../src/trial/trial-fsm.js';
import {
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { until, waitFor } from './support/wait-for.js';

/** Far longer than the test waits for B to take over: only a released lease lets it. */
const LEASE_TTL_MS = 120_000;
const EPOCHS = 4;

describe('closing an executor that hands its trials over', () => {
  let a: ExecutorHarness;
  let b: ExecutorHarness;
  let dataset: string;
  let recovery: TrialRecovery | undefined;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const common = { shutdown: 'hand_over', leaseTtlMs: LEASE_TTL_MS } as const;
    a = await startExecutorHarness({ ...common, executorId: 'exec-a', concurrency: 1 });
    b = await startExecutorHarness({ ...common, executorId: 'exec-b', concurrency: 2 }, a);
    dataset = join(a.workDir, 'medium.jsonl');
    await writeSyntheticDataset(dataset, { rows: 3000, wordsPerLine: 24 });
    // On B's connection, which stays open while A closes.
    await b.bus.subscribe('automat.#', (_key, m) => received.push(m as Record<string, unknown>));
  });

  afterAll(async () => {
    recovery?.stop();
    await b?.cleanup();
    await a?.cleanup();
  });

  it('leaves both trials unended with their leases released; B resumes and completes them', async () => {
    const running = `${a.id}-running`;
    const queued = `${a.id}-queued`;
    for (const trialId of [running, queued]) {
      const spec = contracts.trialSpec.parse(
        syntheticSpec(trialId, dataset, {
          seq_len: 32,
          hparams: {
            epochs: EPOCHS,
            batch_size: 32,
            learning_rate: 0.05,
            max_failures: 0,
            patience: 10,
          },
        }),
      );
      await a.store.createTrial(spec, new Date().toISOString(), a.executor.leases.lease());
      void a.executor.submit(resolveTrialSpec(spec));
    }
    await until(async () => (await b.store.listCheckpoints(running)).length > 0, 90_000);

    await a.executor.close();

    const left = await b.store.getTrial(running);
    expect(left).toMatchObject({ state: 'running', stopReason: null, owner: null });
    expect(left?.leaseExpiresAt).toBeNull();
    expect(await b.store.getTrial(queued)).toMatchObject({ state: 'queued', owner: null });
    const checkpointsA = await b.store.listCheckpoints(running);
    const resumeEpoch = Math.max(...checkpointsA.map((c) => c.epoch));
    expect(resumeEpoch).toBeLessThan(EPOCHS);
    // The worker stopped after an epoch: every epoch it reported has its checkpoint.
    const epochsA = (await b.store.listEpochs(running)).map((e) => e.epoch);
    expect(epochsA).toEqual(Array.from({ length: resumeEpoch }, (_, i) => i + 1));
    expect(await b.store.listHandovers(running)).toMatchObject([
      { attempt: 1, executor: 'exec-a', state: 'running', resumeEpoch },
    ]);
    expect(await b.store.listHandovers(queued)).toEqual([]);

    const claimedAt = Date.now();
    recovery = new TrialRecovery({
      executor: b.executor,
      clock: systemClock,
      logger: silentLogger,
      scanMs: LEASE_TTL_MS,
    });
    await recovery.start();
    expect(b.executor.trialIds.sort()).toEqual([queued, running].sort());
    expect(Date.now() - claimedAt).toBeLessThan(10_000);

    await until(
      async () => isTerminal((await b.store.getTrial(running))?.state ?? 'queued'),
      120_000,
    );
    await until(
      async () => isTerminal((await b.store.getTrial(queued))?.state ?? 'queued'),
      120_000,
    );
    expect(await b.store.getTrial(running)).toMatchObject({
      state: 'completed',
      owner: 'exec-b',
      attempt: 2,
    });
    expect(await b.store.getTrial(queued)).toMatchObject({ state: 'completed', attempt: 1 });

    const transitions = await b.store.listTransitions(running);
    expect(transitions.filter((t) => isTerminal(t.to))).toHaveLength(1);
    const takeover = transitions.find((t) => t.reason.startsWith('taken over'));
    expect(takeover).toMatchObject({ from: 'running', to: 'launching', attempt: 2 });
    expect(takeover?.reason).toContain('exec-a handed the trial over at shutdown');
    const epochsB = (await b.store.listEpochs(running)).filter((e) => e.attempt === 2);
    expect(epochsB.map((e) => e.epoch)).toEqual(
      Array.from({ length: EPOCHS - resumeEpoch }, (_, i) => resumeEpoch + i + 1),
    );

    await b.executor.flushMirror();
    await waitFor(() => b.executor.trialIds.length === 0, 10_000, 'both trials to leave B');
    for (const trialId of [running, queued]) {
      const stored = (await b.store.listMessages(trialId)).map((m) => m.seq);
      expect(stored).toEqual(stored.map((_, i) => i));
      expect(await b.store.listUnpublished(trialId, 100)).toEqual([]);
      const heard = new Set(received.filter((m) => m.trial_id === trialId).map((m) => m.seq));
      expect([...heard].sort((x, y) => Number(x) - Number(y))).toEqual(stored);
    }
    const mine = received.filter((m) => m.trial_id === running);
    expect(mine.find((m) => m.type === 'trial.handed_over')).toMatchObject({
      executor: 'exec-a',
      attempt: 1,
      resume_epoch: resumeEpoch,
    });
    expect(mine.find((m) => m.type === 'trial.taken_over')).toMatchObject({
      executor: 'exec-b',
      previous_executor: 'exec-a',
      handed_over: true,
      resume_epoch: resumeEpoch,
    });
    const hello = mine.find((m) => m.type === 'heartbeat.hello' && m.attempt === 2);
    expect(hello?.start_epoch).toBe(resumeEpoch + 1);
  }, 300_000);
});
