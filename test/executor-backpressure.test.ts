import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeDelivery } from '../src/bus/bus.js';
import { MemoryBus } from '../src/bus/memory-bus.js';
import { systemClock } from '../src/clock/clock.js';
import { IntakeConsumer } from '../src/executor/intake-consumer.js';
import { silentLogger } from '../src/log/logger.js';
import { createInputPolicy } from '../src/policy/input-policy.js';
import {
  AMQP_URL,
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { until, waitFor } from './support/wait-for.js';

describe('intake backpressure (RabbitMQ, Postgres, S3, real workers)', () => {
  let h: ExecutorHarness;
  let dataset: string;
  let admin: amqp.ChannelModel;
  let channel: amqp.Channel;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness({ concurrency: 1 });
    dataset = join(h.workDir, 'tiny.jsonl');
    await writeSyntheticDataset(dataset, { rows: 200 });
    await h.bus.subscribe('automat.events.#', (_key, message) =>
      received.push(message as Record<string, unknown>),
    );
    admin = await amqp.connect(AMQP_URL);
    channel = await admin.createChannel();
    const intake = new IntakeConsumer({
      bus: h.bus,
      store: h.store,
      executor: h.executor,
      clock: systemClock,
      logger: silentLogger,
      inputPolicy: createInputPolicy([h.workDir], []),
    });
    await intake.start();
  });

  afterAll(async () => {
    await admin?.close();
    await h?.cleanup();
  });

  const ended = (trialId: string) =>
    received.some((m) => m.trial_id === trialId && m.type === 'trial.promotion_candidate');

  it('takes only as many specs as it has free slots; the rest wait in the queue', async () => {
    const ids = [1, 2, 3].map((n) => `${h.id}-bp${n}`);
    const started = Date.now();
    for (const id of ids) {
      await h.bus.submit(syntheticSpec(id, dataset, { hparams: { epochs: 1, batch_size: 32 } }));
    }
    await waitFor(
      () => received.some((m) => m.trial_id === ids[0] && m.to === 'running'),
      60_000,
      'the first trial to run',
    );
    const queue = await channel.checkQueue(h.names.intakeQueue);
    expect(queue.messageCount).toBe(2);
    expect(queue.consumerCount).toBe(0);
    expect(await h.store.getTrial(ids[1] as string)).toBeUndefined();

    await waitFor(() => ids.every(ended), 90_000, 'every trial to end');
    console.log(`three trials through one slot took ${Date.now() - started} ms`);
    // Each trial was accepted only after the previous one ended.
    for (const [earlier, later] of [
      [ids[0], ids[1]],
      [ids[1], ids[2]],
    ]) {
      const end = received.findIndex((m) => m.trial_id === earlier && m.to === 'completed');
      const accepted = received.findIndex((m) => m.trial_id === later && m.to === 'queued');
      expect(end).toBeGreaterThanOrEqual(0);
      expect(accepted).toBeGreaterThan(end);
    }
    // The last trial's candidate is published before its worker is gone and its slot free, and
    // only then does the intake consume again.
    await until(
      async () => (await channel.checkQueue(h.names.intakeQueue)).consumerCount === 1,
      15_000,
    );
    const after = await channel.checkQueue(h.names.intakeQueue);
    expect(after).toMatchObject({ messageCount: 0, consumerCount: 1 });
  }, 120_000);
});

describe('MemoryBus intake pause and resume', () => {
  it('holds messages while paused and delivers them after a resume', async () => {
    const bus = new MemoryBus();
    const held: IntakeDelivery[] = [];
    await bus.consumeIntake(async (d) => void held.push(d), { prefetch: 1 });
    await bus.pauseIntake();
    await bus.submit({ n: 1 });
    await bus.submit({ n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(held).toHaveLength(0);
    expect(bus.queued).toBe(2);
    await bus.resumeIntake();
    await waitFor(() => held.length === 1, 1_000, 'one delivery');
    held[0]?.ack();
    await waitFor(() => held.length === 2, 1_000, 'the second delivery');
    await bus.close();
  });

  it('refuses to pause before consuming', async () => {
    const bus = new MemoryBus();
    await expect(bus.pauseIntake()).rejects.toMatchObject({ code: 'AUTOMAT_E_ILLEGAL_STATE' });
    await bus.close();
  });
});
