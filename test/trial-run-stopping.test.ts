import { afterEach, describe, expect, it } from 'vitest';
import { TrialRunRig } from './trial-run-fixture.js';

describe('TrialRun stopping: budget, early stop, epoch cap (scripted worker, manual clock)', () => {
  let rig: TrialRunRig;

  afterEach(async () => {
    await rig?.cleanup();
  });

  it('stops gracefully when the budget cannot fit another epoch, keeping the best', async () => {
    rig = await TrialRunRig.start({ budgetSeconds: 100, hparams: { epochs: 10 } });
    const worker = await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.7, 30_000);
    expect(worker.sent.map((m) => m.type)).toEqual(['control.train']);
    await rig.epoch(1, 2, 0.6, 40_000); // 70 s + 35 s estimated > 100 s
    expect(worker.sent.at(-1)).toMatchObject({ type: 'control.cancel_after_epoch' });
    await rig.final(1, 'cancelled', { epochs_completed: 2 });
    await rig.exit(1, { code: 0, signal: null, classification: 'clean' });

    expect(rig.outcomes[0]).toMatchObject({
      state: 'timed_out',
      stopReason: 'budget_exhausted',
      bestMetric: { name: 'val_accuracy', value: 0.7, epoch: 1 },
    });
    const terminal = rig.events('trial.state_changed').at(-1);
    expect(terminal).toMatchObject({
      to: 'timed_out',
      stop_reason: 'budget_exhausted',
      best_metric: { value: 0.7, epoch: 1 },
    });
    expect(rig.events('trial.promotion_candidate')[0]).toMatchObject({
      stop_reason: 'budget_exhausted',
      best_metric: { value: 0.7, epoch: 1 },
    });
  });

  it('kills a worker that overruns the budget and ignores the stop; still reports its best', async () => {
    rig = await TrialRunRig.start({
      budgetSeconds: 60,
      hparams: { epochs: 10 },
      settings: { stopGraceMs: 5_000, heartbeatTimeoutMs: 600_000, progressMinMs: 600_000 },
    });
    const worker = await rig.begin();
    await rig.advance(90_000); // start-up is not charged
    await rig.hello(1);
    await rig.epoch(1, 1, 0.8, 20_000);
    await rig.advance(39_999);
    expect(worker.sent).toHaveLength(1);
    await rig.advance(1);
    expect(worker.sent.at(-1)).toMatchObject({ type: 'control.cancel_after_epoch' });
    await rig.advance(5_000);
    expect(worker.kills).toEqual(['SIGKILL']);
    await rig.exit(1);
    expect(rig.outcomes[0]).toMatchObject({
      state: 'timed_out',
      stopReason: 'budget_exhausted',
      attempts: 1,
      bestMetric: { value: 0.8, epoch: 1 },
    });
  });

  it('early-stops on a plateau and ends early_stopped with the best epoch', async () => {
    rig = await TrialRunRig.start({ hparams: { epochs: 10, patience: 2, min_delta: 0.01 } });
    const worker = await rig.begin();
    await rig.hello(1);
    const values = [0.5, 0.8, 0.805, 0.809];
    for (const [i, value] of values.entries()) {
      await rig.epoch(1, i + 1, value);
      await rig.checkpoint(1, i + 1);
    }
    expect(worker.sent.at(-1)).toMatchObject({ type: 'control.cancel_after_epoch' });
    await rig.final(1, 'cancelled', { epochs_completed: 4 });
    await rig.exit(1, { code: 0, signal: null, classification: 'clean' });
    expect(rig.outcomes[0]).toMatchObject({
      state: 'early_stopped',
      stopReason: 'early_stopped',
      epochsCompleted: 4,
      bestMetric: { value: 0.809, epoch: 4 },
    });
    expect(rig.outcomes[0]?.bestCheckpointUri).toMatch(/\/1\/epoch-4\/$/);
  });

  it('does not early-stop at the epoch cap, and a worker that finished every epoch completed', async () => {
    rig = await TrialRunRig.start({ hparams: { epochs: 2, patience: 1, min_delta: 0.5 } });
    const worker = await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.5);
    await rig.epoch(1, 2, 0.6);
    expect(worker.sent.map((m) => m.type)).toEqual(['control.train']);
    await rig.final(1, 'completed', { epochs_completed: 2 });
    expect(rig.run.state).toBe('completed');
  });

  it('forwards a cancel and ends cancelled with the best so far', async () => {
    rig = await TrialRunRig.start();
    const worker = await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.42);
    await rig.post({ type: 'trial.cancel', reason: 'by request' });
    expect(worker.sent.at(-1)).toMatchObject({
      type: 'control.cancel_after_epoch',
      reason: 'cancelled: by request',
    });
    await rig.final(1, 'cancelled', { epochs_completed: 1 });
    await rig.exit(1, { code: 0, signal: null, classification: 'clean' });
    expect(rig.outcomes[0]).toMatchObject({ state: 'cancelled', bestMetric: { value: 0.42 } });
  });
});
