import { afterEach, describe, expect, it } from 'vitest';
import { TrialRunRig } from './trial-run-fixture.js';

const settings = {
  startupTimeoutMs: 120_000,
  heartbeatTimeoutMs: 60_000,
  progressFactor: 3,
  progressMinMs: 60_000,
  firstEpochTimeoutMs: 600_000,
  retryBaseDelayMs: 1_000,
  stopGraceMs: 30_000,
};

describe('TrialRun liveness (scripted worker, manual clock)', () => {
  let rig: TrialRunRig;

  afterEach(async () => {
    await rig?.cleanup();
  });

  it('kills a worker that never says hello, then retries it', async () => {
    rig = await TrialRunRig.start({ settings });
    const first = await rig.begin();
    await rig.advance(119_999);
    expect(first.kills).toEqual([]);
    await rig.advance(1);
    expect(first.kills).toEqual(['SIGKILL']);
    await rig.exit(1);
    await rig.advance(1_000);
    expect(rig.workers).toHaveLength(2);
    const retry = rig.events('trial.state_changed').at(-1);
    expect(retry).toMatchObject({ from: 'launching', to: 'launching', attempt: 2 });
    expect(retry?.error).toMatchObject({ code: 'AUTOMAT_E_WORKER_TIMEOUT' });
  });

  it('keeps a worker that beats while it trains; kills one that falls silent', async () => {
    rig = await TrialRunRig.start({ settings, hparams: { max_failures: 0 } });
    const worker = await rig.begin();
    await rig.hello(1);
    for (let i = 0; i < 10; i += 1) {
      await rig.advance(50_000);
      await rig.progress(1);
    }
    expect(worker.kills).toEqual([]);
    await rig.advance(59_999);
    expect(worker.kills).toEqual([]);
    await rig.advance(1);
    expect(worker.kills).toEqual(['SIGKILL']);
    expect(rig.run.state).toBe('running');
    await rig.exit(1);
    expect(rig.outcomes[0]).toMatchObject({
      state: 'failed',
      stopReason: 'failed',
      error: { code: 'AUTOMAT_E_WORKER_TIMEOUT' },
    });
    expect(rig.outcomes[0]?.error?.message).toContain('no message from the worker for 60000 ms');
  });

  it('kills a worker that beats but makes no progress (progress watchdog)', async () => {
    rig = await TrialRunRig.start({ settings, hparams: { max_failures: 0 } });
    const worker = await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.5, 30_000); // next epoch due within 3 × 30 s = 90 s
    for (let i = 0; i < 17; i += 1) {
      await rig.advance(5_000);
      await rig.progress(1, 2);
    }
    expect(worker.kills).toEqual([]);
    await rig.advance(5_000);
    expect(worker.kills).toEqual(['SIGKILL']);
    await rig.exit(1);
    expect(rig.outcomes[0]?.error?.message).toContain('no epoch for 90000 ms');
    expect(rig.outcomes[0]?.bestMetric).toMatchObject({ value: 0.5, epoch: 1 });
  });

  it('never leaves a trial running when a killed worker does not exit', async () => {
    rig = await TrialRunRig.start({ settings });
    const worker = await rig.begin();
    await rig.advance(120_000);
    expect(worker.kills).toEqual(['SIGKILL']);
    await rig.advance(30_000);
    expect(rig.run.state).toBe('failed');
    expect(rig.outcomes[0]?.error?.message).toContain('did not exit after SIGKILL');
    await rig.exit(1); // a very late exit changes nothing
    expect(rig.outcomes).toHaveLength(1);
  });

  it('ignores a timer of an attempt that is over', async () => {
    rig = await TrialRunRig.start({ settings: { ...settings, retryBaseDelayMs: 0 } });
    await rig.begin();
    await rig.hello(1);
    await rig.exit(1);
    await rig.advance(0);
    await rig.post({ type: 'timer.liveness', attempt: 1 });
    await rig.post({ type: 'timer.grace', attempt: 1 });
    await rig.post({ type: 'timer.exit_overdue', attempt: 1 });
    expect(rig.worker(2).kills).toEqual([]);
    expect(rig.run.state).toBe('launching');
  });
});
