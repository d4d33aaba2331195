/**
 * A planner cancels its backlog: trials whose spec still waits in the intake queue because every
 * slot is busy. Regression for "concurrency 2, specs q1, q2, q3; `automat0 cancel q3` answered
 * `no such trial`, then q3 ran to completion". Real RabbitMQ, Postgres, S3 and workers.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmqpBus } from '../src/bus/amqp-bus.js';
import { MemoryBus } from '../src/bus/memory-bus.js';
import { systemClock } from '../src/clock/clock.js';
import { contracts, type CommandAnswered } from '../src/contracts/index.js';
import { ANSWERS_PATTERN, ControlConsumer } from '../src/executor/control-consumer.js';
import { IntakeConsumer } from '../src/executor/intake-consumer.js';
import { TrialRecovery } from '../src/executor/trial-recovery.js';
import { silentLogger } from '../src/log/logger.js';
import { createInputPolicy } from '../src/policy/input-policy.js';
import type { PendingCancel } from '../src/store/trial-store.js';
import { cli, cliEnv } from './support/cli.js';
import { startControlQueue, type ControlQueue } from './support/control-queue.js';
import {
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { waitFor } from './support/wait-for.js';

describe('cancel for a trial still waiting in the intake queue (concurrency 1)', () => {
  let h: ExecutorHarness;
  let planner: AmqpBus;
  let control: ControlQueue;
  let dataset: string;
  const events: Array<Record<string, unknown>> = [];
  const answers: CommandAnswered[] = [];

  const busy = () => `${h.id}-busy`;
  const backlog = () => `${h.id}-backlog`;
  const eventsOf = (trialId: string) => events.filter((e) => e.trial_id === trialId);

  beforeAll(async () => {
    h = await startExecutorHarness({ concurrency: 1 });
    dataset = join(h.workDir, 'synthetic.jsonl');
    await writeSyntheticDataset(dataset, { rows: 400 });
    const keep = (_key: string, message: unknown) =>
      events.push(message as Record<string, unknown>);
    await h.bus.subscribe('automat.events.#', keep);
    await h.bus.subscribe('automat.heartbeats.#', keep);
    await new IntakeConsumer({
      bus: h.bus,
      store: h.executor.store,
      executor: h.executor,
      clock: systemClock,
      logger: silentLogger,
      inputPolicy: createInputPolicy([h.workDir], []),
    }).start();
    control = await startControlQueue(h);
    planner = control.planner;
    await planner.subscribe(ANSWERS_PATTERN, (_key, message) => {
      if (contracts.commandAnswered.is(message)) answers.push(message);
    });
  });

  afterAll(async () => {
    await control?.close();
    await h?.cleanup();
  });

  it('accepts the cancel while the spec waits, and says it waits for the trial', async () => {
    // Early stopping must not end it: it holds the only slot until the test cancels it.
    const long = { epochs: 1000, patience: 1000, batch_size: 32, learning_rate: 0.05 };
    await h.bus.submit(syntheticSpec(busy(), dataset, { hparams: long }));
    await h.bus.submit(syntheticSpec(backlog(), dataset));
    await waitFor(
      () => eventsOf(busy()).some((e) => e.to === 'running'),
      60_000,
      'the busy trial to run',
    );
    expect(await h.store.getTrial(backlog())).toBeUndefined();

    const args = ['cancel', backlog(), '--reason', 'backlog trimmed', '--timeout', '20'];
    const first = await cli(args, cliEnv(h.names));
    expect(first.stdout).toContain(
      `${backlog()}: cancel accepted: trial not received yet; ` +
        'it will end cancelled when it arrives (the cancel is kept until ',
    );
    expect(first.code).toBe(0);
    // Idempotent: a second cancel is accepted the same way and keeps the first one's reason.
    const second = await cli(['cancel', backlog(), '--timeout', '20'], cliEnv(h.names));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('trial not received yet');
    expect(await h.store.getTrial(backlog())).toBeUndefined();
    expect((await h.store.getTrial(busy()))?.state).toBe('running');
  });

  it('ends the trial cancelled as soon as its spec is consumed: no ingest, no worker', async () => {
    await planner.submit({ type: 'planner.cancel', trial_id: busy(), command_id: 'c-busy' });
    await waitFor(
      () => eventsOf(backlog()).some((e) => e.type === 'trial.promotion_candidate'),
      120_000,
      'the backlog trial to end',
    );

    const trial = await h.store.getTrial(backlog());
    expect(trial).toMatchObject({ state: 'cancelled', stopReason: 'cancelled' });
    const transitions = await h.store.listTransitions(backlog());
    expect(transitions.map((t) => [t.from, t.to])).toEqual([
      [null, 'queued'],
      ['queued', 'cancelled'],
    ]);
    expect(transitions[1]?.reason).toMatch(
      /^cancelled on arrival by planner\.cancel \S+ of \S+: planner: backlog trimmed$/,
    );
    expect(await h.store.listEpochs(backlog())).toEqual([]);

    const changes = eventsOf(backlog()).filter((e) => e.type === 'trial.state_changed');
    expect(changes.map((e) => e.to)).toEqual(['queued', 'cancelled']);
    expect(changes[1]).toMatchObject({ stop_reason: 'cancelled', reason: transitions[1]?.reason });
    // Only lifecycle events, each valid: no worker ever sent a heartbeat.
    for (const event of eventsOf(backlog())) contracts.trialEvent.parse(event);
  });

  it('refuses a later cancel of that trial, naming the state it ended in', async () => {
    const again = await cli(['cancel', backlog(), '--timeout', '20'], cliEnv(h.names));
    expect(again.stdout).toContain(`${backlog()}: not cancelled: trial already ended (cancelled)`);
    expect(again.code).toBe(1);
    expect(answers.filter((a) => a.trial_id === backlog()).map((a) => a.accepted)).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('cancels on take-over a trial whose executor stored it and died before cancelling it', async () => {
    const trialId = `${h.id}-orphan`;
    const now = new Date();
    await h.store.recordPendingCancel({
      trialId,
      reason: 'planner: seen enough',
      commandId: 'c-orphan',
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
    });
    // Stored without a lease and never run, as an executor that died at once would leave it.
    const spec = contracts.trialSpec.parse(syntheticSpec(trialId, dataset));
    await h.store.createTrial(spec, now.toISOString());

    const recovery = new TrialRecovery({
      executor: h.executor,
      clock: systemClock,
      logger: silentLogger,
    });
    expect(await recovery.scan()).toBe(1);
    await waitFor(
      () => eventsOf(trialId).some((e) => e.type === 'trial.promotion_candidate'),
      30_000,
      'the orphan to end',
    );
    expect(await h.store.getTrial(trialId)).toMatchObject({ state: 'cancelled' });
    const transitions = await h.store.listTransitions(trialId);
    expect(transitions.map((t) => t.to)).toEqual(['cancelled']);
    expect(transitions[0]?.reason).toMatch(/^cancelled on arrival by planner\.cancel c-orphan /);
    expect(await h.store.listEpochs(trialId)).toEqual([]);
  });

  it('answers as for a stored trial when the spec is stored while the cancel is recorded', async () => {
    const trialId = `${h.id}-racing`;
    // The real store, with the intake storing the spec just before the cancel is recorded: the
    // intake may have looked for a cancel already, so this one must not claim the trial.
    const store = {
      getTrial: (id: string) => h.store.getTrial(id),
      deletePendingCancel: (id: string) => h.store.deletePendingCancel(id),
      recordPendingCancel: async (cancel: PendingCancel) => {
        const spec = contracts.trialSpec.parse(syntheticSpec(trialId, dataset));
        await h.store.createTrial(spec, new Date().toISOString());
        return h.store.recordPendingCancel(cancel);
      },
    };
    // Commands on an in-process bus, so that this consumer does not compete for the queue.
    const commands = new MemoryBus();
    const answered: unknown[] = [];
    await commands.subscribe(ANSWERS_PATTERN, (_key, message) => answered.push(message));
    const racing = { bus: commands, executor: h.executor, store, clock: systemClock };
    await new ControlConsumer({ ...racing, logger: silentLogger }).start();
    try {
      await commands.submit({ type: 'planner.cancel', trial_id: trialId, command_id: 'c-race' });
      await waitFor(() => answered.length === 1, 10_000, 'the answer');
      expect(answered[0]).toMatchObject({
        accepted: false,
        state: 'queued',
        message: expect.stringMatching(/^trial is queued but not running on this executor/),
      });
      expect(await h.store.getPendingCancel(trialId, new Date().toISOString())).toBeUndefined();
    } finally {
      await commands.close();
    }
  });
});
