import { existsSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../src/artifacts/s3-artifact-store.js';
import { systemClock } from '../src/clock/clock.js';
import { contracts } from '../src/contracts/index.js';
import { IntakeConsumer } from '../src/executor/intake-consumer.js';
import { silentLogger } from '../src/log/logger.js';
import { createInputPolicy } from '../src/policy/input-policy.js';
import {
  AMQP_URL,
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { loadS3Env } from './support/s3-env.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { waitFor } from './support/wait-for.js';

describe('executor serving its intake queue (RabbitMQ, Postgres, S3, a real worker)', () => {
  let h: ExecutorHarness;
  let dataset: string;
  const received: Array<Record<string, unknown>> = [];
  const warnings: Array<{ message: string; meta?: Record<string, unknown> }> = [];
  const recording = {
    ...silentLogger,
    warn: (message: string, meta?: Record<string, unknown>) => warnings.push({ message, meta }),
  };

  beforeAll(async () => {
    h = await startExecutorHarness();
    dataset = join(h.workDir, 'synthetic.jsonl');
    await writeSyntheticDataset(dataset, { rows: 400 });
    const keep = (_key: string, message: unknown) =>
      received.push(message as Record<string, unknown>);
    await h.bus.subscribe('automat.heartbeats.#', keep);
    await h.bus.subscribe('automat.events.#', keep);
    await h.bus.subscribe('automat.answers.#', keep);
    const consumer = new IntakeConsumer({
      bus: h.bus,
      store: h.store,
      executor: h.executor,
      clock: systemClock,
      logger: { ...recording, child: () => recording },
      inputPolicy: createInputPolicy([h.workDir], []),
      prefetch: 2,
    });
    await consumer.start();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it('dead-letters malformed specs with the field named, then completes a valid one', async () => {
    const trialId = `${h.id}-ok`;
    const valid = syntheticSpec(trialId, dataset);
    const malformed = [
      Buffer.from('{"trial_id": "x", '),
      JSON.stringify({ ...valid, trial_id: `${h.id}-missing`, dataset_uri: undefined }),
      JSON.stringify({ ...valid, trial_id: `${h.id}-type`, seq_len: 'abc' }),
      JSON.stringify({ ...valid, trial_id: `${h.id}-task`, task_type: 'translation' }),
      JSON.stringify({ ...valid, trial_id: `${h.id}-profile`, device_profile: 'tpu-v9' }),
      JSON.stringify({ ...valid, trial_id: `${h.id}-escape`, dataset_uri: '/etc/passwd' }),
      JSON.stringify({ ...valid, trial_id: `${h.id}-scheme`, tokenizer_ref: 'http://x/t.json' }),
      JSON.stringify({
        ...valid,
        trial_id: `${h.id}-huge`,
        hparams: { epochs: 2, pad: 'x'.repeat(300_000) },
      }),
    ];
    for (const body of malformed) await h.bus.submit(Buffer.from(body));
    await h.bus.submit(valid);

    await waitFor(
      () => received.some((m) => m.trial_id === trialId && m.type === 'trial.promotion_candidate'),
      120_000,
      'the promotion candidate',
    );

    const deadLetters = await drain(h.names.deadLetterQueue);
    expect(deadLetters.map((d) => d.field)).toEqual([
      'trial',
      'trial.dataset_uri',
      'trial.seq_len',
      'trial.task_type',
      'trial.device_profile',
      'trial.dataset_uri',
      'trial.tokenizer_ref',
      'trial',
    ]);
    expect(deadLetters[5]?.message).toMatch(
      /^trial.dataset_uri must be inside .+, got "\/etc\/passwd"$/,
    );
    expect(deadLetters[7]?.message).toMatch(/^trial must be at most 262144 bytes/);
    // The path escape is also logged at warn, naming the field and the path.
    expect(warnings).toContainEqual({
      message: 'trial spec rejected',
      meta: expect.objectContaining({
        field: 'trial.dataset_uri',
        reason: expect.stringContaining('got "/etc/passwd"'),
      }),
    });
    expect(deadLetters[2]?.message).toBe(
      'trial.seq_len must be an integer between 8 and 8192, got "abc"',
    );
    expect(deadLetters[0]?.code).toBe('AUTOMAT_E_INVALID_JSON');
    expect(deadLetters[1]?.body).toContain(`${h.id}-missing`);

    const trial = await h.store.getTrial(trialId);
    expect(trial?.state).toBe('completed');
    const epochs = await h.store.listEpochs(trialId);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(trial?.bestMetric?.value).toBeGreaterThan(0.9);
  });

  it('mirrors heartbeats and events in seq order, each valid against its contract', () => {
    const trialId = `${h.id}-ok`;
    const mine = received.filter((m) => m.trial_id === trialId);
    const seqs = mine.map((m) => Number(m.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const types = mine.map((m) => m.type);
    expect(types.filter((t) => String(t).startsWith('heartbeat.'))).toEqual([
      'heartbeat.hello',
      'heartbeat.epoch',
      'heartbeat.checkpoint',
      'heartbeat.epoch',
      'heartbeat.checkpoint',
      'heartbeat.epoch',
      'heartbeat.checkpoint',
      'heartbeat.final',
    ]);
    expect(types.at(-1)).toBe('trial.promotion_candidate');
    const states = mine.filter((m) => m.type === 'trial.state_changed').map((m) => m.to);
    expect(states).toEqual(['queued', 'ingesting', 'launching', 'running', 'completed']);
    for (const m of mine) {
      const contract = String(m.type).startsWith('heartbeat.')
        ? contracts.heartbeat
        : contracts.trialEvent;
      expect(contract.is(m)).toBe(true);
    }
  });

  it('stores every bus message and uploads the best checkpoint to S3', async () => {
    const trialId = `${h.id}-ok`;
    const messages = await h.store.listMessages(trialId);
    expect(messages.length).toBe(received.filter((m) => m.trial_id === trialId).length);
    const trial = await h.store.getTrial(trialId);
    const uri = trial?.bestCheckpointUri ?? '';
    expect(uri).toMatch(
      new RegExp(`^s3://[^/]+/${h.s3Prefix}/${trialId}/1/epoch-${trial?.bestMetric?.epoch}/$`),
    );
    const artifacts = new S3ArtifactStore({ ...loadS3Env(), logger: silentLogger });
    const head = await artifacts.head(uri);
    await artifacts.close();
    expect(head?.bytes).toBeGreaterThan(0);
    const checkpoints = await h.store.listCheckpoints(trialId);
    expect(checkpoints.map((c) => c.epoch)).toEqual([1, 2, 3]);
    // Once uploaded they are the store's: the worker's local folders are gone.
    expect(existsSync(join(h.workDir, 'checkpoints', trialId))).toBe(false);
  });

  it('acknowledges the same spec again, and dead-letters a different spec under a taken trial_id', async () => {
    const trialId = `${h.id}-ok`;
    const before = received.filter((m) => m.trial_id === trialId).length;
    const same = syntheticSpec(trialId, dataset);
    const clash = syntheticSpec(trialId, dataset, { embed_dim: 8 });
    await h.bus.submit(same);
    await h.bus.submit(clash);

    const deadLetters: DeadLetter[] = [];
    for (let tries = 0; deadLetters.length === 0 && tries < 50; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      deadLetters.push(...(await drain(h.names.deadLetterQueue)));
    }
    // Give the same-spec resubmission time to have done harm, if it were going to.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    deadLetters.push(...(await drain(h.names.deadLetterQueue)));
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.field).toBe('trial.trial_id');
    expect(deadLetters[0]?.message).toContain('already names a different trial');
    const after = received.filter((m) => m.trial_id === trialId).slice(before);
    expect(after).toEqual([
      expect.objectContaining({
        type: 'intake.duplicate_spec',
        redelivered: false,
        state: 'completed',
        owner: h.executor.id,
      }),
    ]);
    expect(contracts.duplicateSpec.is(after[0])).toBe(true);
    expect((await h.store.getTrial(trialId))?.spec.embed_dim).toBe(16);
  });
});

interface DeadLetter {
  field: string | undefined;
  code: string | undefined;
  message: string | undefined;
  body: string;
}

async function drain(queue: string): Promise<DeadLetter[]> {
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  const found: DeadLetter[] = [];
  for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
    const headers = message.properties.headers ?? {};
    found.push({
      field: headers['x-automat-error-field'] as string | undefined,
      code: headers['x-automat-error-code'] as string | undefined,
      message: headers['x-automat-error-message'] as string | undefined,
      body: message.content.toString('utf8'),
    });
    channel.ack(message);
  }
  await connection.close();
  return found;
}
