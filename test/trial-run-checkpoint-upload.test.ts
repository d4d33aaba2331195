import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrialRunRig } from './trial-run-fixture.js';

describe('TrialRun checkpoint uploads while the artifact store is away', () => {
  let rig: TrialRunRig;

  afterEach(async () => {
    await rig?.cleanup();
  });

  it('keeps a failed upload and sends it with the next checkpoint, so nothing is lost', async () => {
    rig = await TrialRunRig.start({ hparams: { epochs: 3 } });
    // A plain file where the store's folder should be: every upload fails with a real ENOTDIR.
    const blocker = join(rig.dir, 'artifacts');
    await writeFile(blocker, 'not a folder');

    await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.9);
    await rig.checkpoint(1, 1);
    expect(await rig.store.listCheckpoints(rig.trialId)).toEqual([]);

    await rm(blocker);
    await rig.epoch(1, 2, 0.8);
    await rig.checkpoint(1, 2);
    const stored = await rig.store.listCheckpoints(rig.trialId);
    expect(stored.map((c) => c.epoch)).toEqual([1, 2]);

    await rig.epoch(1, 3, 0.7);
    await rig.checkpoint(1, 3);
    await rig.final(1, 'completed', { epochs_completed: 3 });
    await rig.exit(1, { code: 0, signal: null, classification: 'clean' });
    // The best epoch is the one whose first upload failed; its URI still reaches the result.
    expect(rig.outcomes[0]?.bestMetric).toMatchObject({ value: 0.9, epoch: 1 });
    expect(rig.outcomes[0]?.bestCheckpointUri).toMatch(/\/1\/epoch-1\/$/);
  });

  it('tries the failed uploads once more when the trial ends', async () => {
    rig = await TrialRunRig.start({ hparams: { epochs: 2 } });
    const blocker = join(rig.dir, 'artifacts');
    await writeFile(blocker, 'not a folder');
    await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.5);
    await rig.checkpoint(1, 1);
    await rig.epoch(1, 2, 0.6);
    await rig.checkpoint(1, 2);
    expect(await rig.store.listCheckpoints(rig.trialId)).toEqual([]);

    await rm(blocker);
    await rig.final(1, 'completed', { epochs_completed: 2 });
    await rig.exit(1, { code: 0, signal: null, classification: 'clean' });
    expect((await rig.store.listCheckpoints(rig.trialId)).map((c) => c.epoch)).toEqual([1, 2]);
    expect(rig.outcomes[0]?.bestCheckpointUri).toMatch(/\/1\/epoch-2\/$/);
  });
});
