/**
 * A graceful shutdown hands a trial over instead of ending it (scripted worker, manual clock):
 * the worker stops after its epoch, nothing terminal is recorded, the handover is stored, and
 * the executor taking the trial over resumes it without counting a failure. A crash (no
 * handover) still counts as one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadTakeover, type TrialTakeover } from '../src/trial/trial-takeover.js';
import { TrialRunRig, type RigOptions } from './trial-run-fixture.js';

const HAND_OVER = { type: 'trial.hand_over', executor: 'exec-a', reason: 'shutting down' } as const;

/** Attempt 1 of `rig` has trained and checkpointed epochs 1 and 2. */
async function twoEpochsIn(options: RigOptions = {}): Promise<TrialRunRig> {
  const rig = await TrialRunRig.start(options);
  await rig.begin();
  await rig.hello(1);
  for (const epoch of [1, 2]) {
    await rig.epoch(1, epoch, 0.5 + epoch / 10);
    await rig.checkpoint(1, epoch);
  }
  return rig;
}

async function takeoverOf(rig: TrialRunRig, seqAfter: TrialRunRig[] = [rig]) {
  const record = await rig.store.getTrial(rig.trialId);
  if (!record) throw new Error('trial not stored');
  const loaded = await loadTakeover(rig.store, record, { executor: 'exec-b', previous: null });
  const nextSeq = seqAfter.reduce((n, r) => n + r.mirrored.length, 0);
  return { ...loaded, nextSeq } satisfies TrialTakeover;
}

describe('TrialRun handed over at a graceful shutdown', () => {
  const rigs: TrialRunRig[] = [];

  afterEach(async () => {
    await rigs[0]?.cleanup();
    rigs.length = 0;
  });

  it('stops the worker after its epoch, ends nothing, and the successor resumes without a failure', async () => {
    const first = await twoEpochsIn({ hparams: { max_failures: 0 } });
    rigs.push(first);

    await first.post(HAND_OVER);
    expect(first.worker(1).sent.at(-1)).toMatchObject({
      type: 'control.cancel_after_epoch',
      reason: 'handover: shutting down',
    });
    await first.epoch(1, 3, 0.9);
    await first.checkpoint(1, 3);
    await first.final(1, 'cancelled', { epochs_completed: 3 });
    expect(first.outcomes).toHaveLength(0);
    await first.exit(1, { code: 0, signal: null, classification: 'clean' });

    expect(first.outcomes[0]).toMatchObject({
      state: 'running',
      stopReason: null,
      handedOver: { attempt: 1, resumeEpoch: 3 },
    });
    expect(first.states()).toEqual(['queued', 'ingesting', 'launching', 'running']);
    expect(first.events('trial.handed_over')[0]).toMatchObject({
      executor: 'exec-a',
      state: 'running',
      attempt: 1,
      resume_epoch: 3,
      epochs_completed: 3,
    });
    expect((await first.store.getTrial(first.trialId))?.state).toBe('running');
    expect(await first.store.listHandovers(first.trialId)).toMatchObject([
      { attempt: 1, executor: 'exec-a', state: 'running', resumeEpoch: 3 },
    ]);

    // max_failures 0: a takeover that counted the handover as a failure would fail the trial.
    const takeover = await takeoverOf(first);
    expect(takeover.previousExecutor).toBe('exec-a');
    const second = await TrialRunRig.successor(first, { hparams: { max_failures: 0 } });
    rigs.push(second);
    await second.post({ type: 'trial.adopt', takeover });
    await second.post({ type: 'trial.start' });
    await second.ingested();

    expect(second.events('trial.taken_over')[0]).toMatchObject({ handed_over: true });
    const relaunch = second.events('trial.state_changed')[0];
    expect(relaunch).toMatchObject({ from: 'running', to: 'launching', attempt: 2 });
    expect(String(relaunch?.reason)).toContain('exec-a handed the trial over at shutdown');
    const train = second.worker(2).sent[0];
    expect(train?.type === 'control.train' && train.resume_from).toMatch(/1\/epoch-3$/);
  });

  it('hands over a worker killed after the stop grace, still without a failure', async () => {
    const first = await twoEpochsIn({ settings: { stopGraceMs: 5_000 } });
    rigs.push(first);

    await first.post(HAND_OVER);
    await first.advance(5_000);
    expect(first.worker(1).kills).toEqual(['SIGKILL']);
    await first.exit(1);

    expect(first.outcomes[0]).toMatchObject({ handedOver: { attempt: 1, resumeEpoch: 2 } });
    expect(String(first.outcomes[0]?.handedOver?.reason)).toContain('killed after the stop grace');
    expect(await first.store.listHandovers(first.trialId)).toHaveLength(1);
    expect((await first.store.getTrial(first.trialId))?.state).toBe('running');
  });

  it('hands over a queued trial at once, and the successor starts it as any other', async () => {
    const first = await TrialRunRig.start();
    rigs.push(first);
    await first.post({ type: 'trial.accept' });
    await first.post(HAND_OVER);
    await first.post({ type: 'trial.start' });

    expect(first.workers).toHaveLength(0);
    expect(first.outcomes[0]).toMatchObject({ state: 'queued', handedOver: { attempt: null } });
    expect(await first.store.listHandovers(first.trialId)).toEqual([]);

    const second = await TrialRunRig.successor(first);
    rigs.push(second);
    await second.post({ type: 'trial.adopt', takeover: await takeoverOf(first) });
    await second.post({ type: 'trial.start' });
    await second.ingested();
    expect(second.worker(1).sent[0]).not.toHaveProperty('resume_from');
  });

  it('keeps counting a worker that crashed during the handover as a failure', async () => {
    const first = await twoEpochsIn({ hparams: { max_failures: 1 } });
    rigs.push(first);

    await first.post(HAND_OVER);
    await first.exit(1, { code: 1, signal: null, classification: 'crashed' });

    // The failure is recorded as a retry; the retry itself is left to the next executor.
    expect(first.events('trial.state_changed').at(-1)).toMatchObject({
      from: 'running',
      to: 'launching',
      attempt: 2,
    });
    expect(first.workers).toHaveLength(1);
    expect((await first.store.listHandovers(first.trialId)).map((h) => h.attempt)).toEqual([2]);
    expect(first.outcomes[0]).toMatchObject({ state: 'launching', handedOver: { attempt: 2 } });
  });

  it('does not turn an adopted crash into a handover when it hands over before relaunching', async () => {
    const first = await twoEpochsIn({ hparams: { max_failures: 0 } });
    rigs.push(first);
    // exec-a crashed; exec-b adopts the trial but shuts down before starting it.
    const second = await TrialRunRig.successor(first, { hparams: { max_failures: 0 } });
    rigs.push(second);
    await second.post({ type: 'trial.adopt', takeover: await takeoverOf(first) });
    await second.post(HAND_OVER);
    expect(second.outcomes[0]).toMatchObject({ state: 'running', handedOver: { attempt: null } });
    expect(await first.store.listHandovers(first.trialId)).toEqual([]);

    const third = await TrialRunRig.successor(first, { hparams: { max_failures: 0 } });
    rigs.push(third);
    const takeover = await takeoverOf(first, [first, second]);
    await third.post({ type: 'trial.adopt', takeover });
    await third.post({ type: 'trial.start' });
    expect(third.outcomes[0]).toMatchObject({ state: 'failed' });
    expect(String(third.events('trial.state_changed')[0]?.reason)).toContain('no retries left');
  });
});
