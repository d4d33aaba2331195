/**
 * One test body, run against both trial store implementations: PostgreSQL (each test in its own
 * schema, dropped afterwards) and SQLite (each test in its own file under a temp folder).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { MIGRATIONS } from '../src/store/schema.js';
import type { TrialStore } from '../src/store/trial-store.js';
import { T0, at, postgresHarness, spec, sqliteHarness, type Harness } from './store-harness.js';

describe.each([
  ['postgres', postgresHarness],
  ['sqlite', sqliteHarness],
] as const)('%s trial store', (_backend, makeHarness) => {
  let harness: Harness;
  let store: TrialStore;
  const opened: TrialStore[] = [];

  const open = (): TrialStore => {
    const s = harness.open();
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    harness = makeHarness();
    store = open();
    await store.migrate();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await harness.destroy();
  });

  it('migrates idempotently, from the same and from another store', async () => {
    await store.createTrial(spec('t-1'), T0);
    await store.migrate();
    await open().migrate();

    expect(await harness.appliedMigrations()).toBe(MIGRATIONS.length);
    expect((await store.getTrial('t-1'))?.spec.trial_id).toBe('t-1');
  });

  it('migrates concurrently from several stores on a fresh database', async () => {
    const fresh = makeHarness();
    const stores = [fresh.open(), fresh.open(), fresh.open()];
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      expect(await fresh.appliedMigrations()).toBe(MIGRATIONS.length);
      expect(await stores[1]!.createTrial(spec('t-1'), T0)).toEqual({ created: true });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.destroy();
    }
  });

  it('creates a trial once and never overwrites it', async () => {
    expect(await store.createTrial(spec('t-1'), T0)).toEqual({ created: true });
    expect(await store.createTrial(spec('t-1', { seq_len: 512 }), at(5))).toEqual({
      created: false,
    });

    expect(await store.getTrial('t-1')).toEqual({
      trialId: 't-1',
      spec: spec('t-1'),
      state: 'queued',
      stopReason: null,
      attempt: 1,
      bestMetric: null,
      bestCheckpointUri: null,
      error: null,
      owner: null,
      leaseExpiresAt: null,
      createdAt: T0,
      updatedAt: T0,
    });
    expect(await store.getTrial('missing')).toBeUndefined();
  });

  it('round-trips a spec without optional fields', async () => {
    const bare = spec('t-bare');
    delete bare.hparams;
    await store.createTrial(bare, T0);

    expect((await store.getTrial('t-bare'))?.spec).toEqual(bare);
  });

  it('records transitions in order and keeps the trial row current', async () => {
    await store.createTrial(spec('t-1'), T0);
    const moves = [
      { from: null, to: 'queued', reason: 'accepted' },
      { from: 'queued', to: 'ingesting', reason: 'preparing shards' },
      { from: 'ingesting', to: 'launching', reason: 'attempt 1', attempt: 1 },
      { from: 'launching', to: 'running', reason: 'worker up' },
      { from: 'running', to: 'launching', reason: 'attempt 2', attempt: 2 },
      { from: 'launching', to: 'running', reason: 'worker up again' },
      { from: 'running', to: 'completed', reason: 'done', stopReason: 'completed' },
    ] as const;
    for (const [i, move] of moves.entries()) {
      await store.recordTransition({ trialId: 't-1', ...move, at: at(i + 1) });
    }

    const trial = await store.getTrial('t-1');
    expect(trial).toMatchObject({
      state: 'completed',
      stopReason: 'completed',
      attempt: 2,
      updatedAt: at(7),
    });
    const history = await store.listTransitions('t-1');
    expect(history.map((t) => [t.from, t.to, t.attempt])).toEqual([
      [null, 'queued', 1],
      ['queued', 'ingesting', 1],
      ['ingesting', 'launching', 1],
      ['launching', 'running', 1],
      ['running', 'launching', 2],
      ['launching', 'running', 2],
      ['running', 'completed', 2],
    ]);
    expect(history[6]).toEqual({
      from: 'running',
      to: 'completed',
      reason: 'done',
      stopReason: 'completed',
      error: null,
      attempt: 2,
      at: at(7),
    });
  });

  it('stores the error a failing transition carries', async () => {
    await store.createTrial(spec('t-1'), T0);
    const error = { name: 'WorkerError', code: ErrorCodes.WORKER_CRASHED, message: 'exit 137' };
    await store.recordTransition({
      trialId: 't-1',
      from: null,
      to: 'queued',
      reason: 'accepted',
      at: at(1),
    });
    await store.recordTransition({
      trialId: 't-1',
      from: 'queued',
      to: 'failed',
      reason: 'worker crashed',
      stopReason: 'failed',
      error,
      at: at(2),
    });

    expect(await store.getTrial('t-1')).toMatchObject({
      state: 'failed',
      stopReason: 'failed',
      error,
    });
    expect((await store.listTransitions('t-1'))[1]?.error).toEqual(error);
  });

  it('rejects a transition from a state the trial is not in, changing nothing', async () => {
    await store.createTrial(spec('t-1'), T0);
    await store.recordTransition({
      trialId: 't-1',
      from: null,
      to: 'queued',
      reason: 'accepted',
      at: at(1),
    });

    const stale = store.recordTransition({
      trialId: 't-1',
      from: 'running',
      to: 'completed',
      reason: 'late writer',
      at: at(2),
    });
    await expect(stale).rejects.toMatchObject({
      code: ErrorCodes.STORE_CONFLICT,
      message: expect.stringContaining('is in state queued, not running'),
    });
    const replayed = store.recordTransition({
      trialId: 't-1',
      from: null,
      to: 'queued',
      reason: 'accepted twice',
      at: at(3),
    });
    await expect(replayed).rejects.toMatchObject({ code: ErrorCodes.STORE_CONFLICT });
    expect(await store.listTransitions('t-1')).toHaveLength(1);
    expect((await store.getTrial('t-1'))?.updatedAt).toBe(at(1));
  });

  it('rejects writes for a trial that was never created', async () => {
    const transition = { trialId: 'ghost', from: null, to: 'queued', reason: 'x', at: T0 } as const;
    const epoch = {
      trialId: 'ghost',
      attempt: 1,
      epoch: 1,
      primary: 0.5,
      metrics: {},
      durationMs: 1,
      recordedAt: T0,
    };

    await expect(store.recordTransition(transition)).rejects.toMatchObject({
      code: ErrorCodes.STORE_CONFLICT,
      message: expect.stringContaining('"ghost" is not stored'),
    });
    await expect(store.recordEpoch(epoch)).rejects.toMatchObject({
      code: ErrorCodes.STORE_CONFLICT,
    });
    await expect(
      store.recordResult({ trialId: 'ghost', bestMetric: null, bestCheckpointUri: null, at: T0 }),
    ).rejects.toMatchObject({ code: ErrorCodes.STORE_CONFLICT });
  });

  it('upserts epochs and lists them by attempt, then epoch', async () => {
    await store.createTrial(spec('t-1'), T0);
    const epoch = (attempt: number, n: number, primary: number) => ({
      trialId: 't-1',
      attempt,
      epoch: n,
      primary,
      metrics: { primary, tokens_per_s: 1000 * n, train_loss: 1 / n, val_loss: 2 / n },
      durationMs: 1500,
      recordedAt: at(n),
    });
    await store.recordEpoch(epoch(2, 1, 0.7));
    await store.recordEpoch(epoch(1, 2, 0.6));
    await store.recordEpoch(epoch(1, 1, 0.5));
    await store.recordEpoch({ ...epoch(1, 2, 0.65), durationMs: 2500.5 });

    const epochs = await store.listEpochs('t-1');
    expect(epochs.map((e) => [e.attempt, e.epoch, e.primary])).toEqual([
      [1, 1, 0.5],
      [1, 2, 0.65],
      [2, 1, 0.7],
    ]);
    expect(epochs[1]).toEqual({ ...epoch(1, 2, 0.65), durationMs: 2500.5 });
  });

  it('stores NaN and infinite metrics as null and reads nulls back', async () => {
    await store.createTrial(spec('t-1'), T0);
    await store.recordEpoch({
      trialId: 't-1',
      attempt: 1,
      epoch: 1,
      primary: Number.NaN,
      metrics: { primary: Number.NaN, val_loss: Infinity, train_loss: null, tokens_per_s: 12.25 },
      durationMs: 10,
      recordedAt: T0,
    });

    const [stored] = await store.listEpochs('t-1');
    expect(stored?.primary).toBeNull();
    expect(stored?.metrics).toEqual({
      primary: null,
      val_loss: null,
      train_loss: null,
      tokens_per_s: 12.25,
    });
  });

  it('stores each message once by seq and lists them in seq order', async () => {
    await store.createTrial(spec('t-1'), T0);
    const message = (seq: number, payload: unknown) => ({
      trialId: 't-1',
      seq,
      type: 'heartbeat.epoch',
      payload,
      recordedAt: at(seq),
    });

    expect(await store.recordMessage(message(2, { n: 2 }))).toEqual({ recorded: true });
    expect(await store.recordMessage(message(10, { n: 10, nested: [1, null] }))).toEqual({
      recorded: true,
    });
    expect(await store.recordMessage(message(0, { n: 0, bad: Number.NaN }))).toEqual({
      recorded: true,
    });
    expect(await store.recordMessage(message(2, { n: 'duplicate' }))).toEqual({ recorded: false });

    const messages = await store.listMessages('t-1');
    expect(messages.map((m) => m.seq)).toEqual([0, 2, 10]);
    expect(messages.map((m) => m.payload)).toEqual([
      { n: 0, bad: null },
      { n: 2 },
      { n: 10, nested: [1, null] },
    ]);
    expect(messages[0]).toMatchObject({
      trialId: 't-1',
      type: 'heartbeat.epoch',
      recordedAt: at(0),
    });
  });

  it('upserts checkpoints, keeping sizes beyond 32 bits exact', async () => {
    await store.createTrial(spec('t-1'), T0);
    const checkpoint = (attempt: number, epoch: number, bytes: number) => ({
      trialId: 't-1',
      attempt,
      epoch,
      uri: `s3://ckpt/t-1/${attempt}/${epoch}`,
      bytes,
      recordedAt: at(epoch),
    });
    await store.recordCheckpoint(checkpoint(1, 2, 10));
    await store.recordCheckpoint(checkpoint(1, 1, 5_000_000_123));
    await store.recordCheckpoint(checkpoint(1, 2, 20));

    expect(await store.listCheckpoints('t-1')).toEqual([
      checkpoint(1, 1, 5_000_000_123),
      checkpoint(1, 2, 20),
    ]);
  });

  it('records the result, including an empty one', async () => {
    await store.createTrial(spec('t-1'), T0);
    const bestMetric = { name: 'val_accuracy', value: 0.91, epoch: 3 };
    await store.recordResult({
      trialId: 't-1',
      bestMetric,
      bestCheckpointUri: 's3://c/3',
      at: at(9),
    });

    expect(await store.getTrial('t-1')).toMatchObject({
      bestMetric,
      bestCheckpointUri: 's3://c/3',
      updatedAt: at(9),
    });

    const empty = { name: 'val_accuracy', value: null, epoch: null };
    await store.recordResult({
      trialId: 't-1',
      bestMetric: empty,
      bestCheckpointUri: null,
      at: at(10),
    });
    expect(await store.getTrial('t-1')).toMatchObject({
      bestMetric: empty,
      bestCheckpointUri: null,
    });
  });

  it('keeps everything across a reopen', async () => {
    await store.createTrial(spec('t-1'), T0);
    await store.recordMessage({ trialId: 't-1', seq: 0, type: 'x', payload: null, recordedAt: T0 });
    await store.close();

    const reopened = open();
    await reopened.migrate();
    expect((await reopened.getTrial('t-1'))?.state).toBe('queued');
    expect(await reopened.listMessages('t-1')).toEqual([
      { trialId: 't-1', seq: 0, type: 'x', payload: null, recordedAt: T0 },
    ]);
  });

  it('closes idempotently and refuses work afterwards with STORE_UNAVAILABLE', async () => {
    const first = store.close();
    expect(store.close()).toBe(first);
    await first;

    const error: unknown = await store.getTrial('t-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutomatError);
    expect(error).toMatchObject({
      code: ErrorCodes.STORE_UNAVAILABLE,
      message: expect.stringContaining('closed'),
    });
  });
});
