import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import type { IntakeDelivery } from '../src/bus/bus.js';
import { busTopology, busTopologyNames, type BusTopologyNames } from '../src/bus/bus-topology.js';
import { ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';

const url = process.env.AUTOMAT_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('AmqpBus intake', () => {
  let names: BusTopologyNames;
  let bus: AmqpBus;
  let admin: amqp.ChannelModel;
  let channel: amqp.Channel;

  beforeEach(async () => {
    names = busTopologyNames(`automat-test-${randomUUID().slice(0, 8)}`);
    bus = await AmqpBus.connect({ url, logger: silentLogger, names });
    admin = await amqp.connect(url);
    channel = await admin.createChannel();
  });

  afterEach(async () => {
    await bus.close();
    await deleteBusTopology(channel, busTopology(names));
    await admin.close();
  });

  it('keeps at most `prefetch` deliveries unacknowledged', async () => {
    for (let n = 0; n < 5; n++) await bus.submit({ n });
    const held: IntakeDelivery[] = [];
    await bus.consumeIntake(async (d) => void held.push(d), { prefetch: 2 });
    await waitFor(() => held.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(held).toHaveLength(2);

    held[0]?.ack();
    await waitFor(() => held.length === 3);
    held.slice(1).forEach((d) => d.ack());
    await waitFor(() => held.length === 5);
    held.slice(3).forEach((d) => d.ack());
    expect(held.map((d) => JSON.parse(d.body.toString()).n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('dead-letters the original body with the reason, then removes the original', async () => {
    const body = Buffer.from('{"trial_id": "t-1", "seq_len": "abc"}');
    await bus.submit(body);
    const settled: Promise<void>[] = [];
    await bus.consumeIntake(
      async (d) => {
        settled.push(
          d.deadLetter({
            code: ErrorCodes.INVALID_MESSAGE,
            field: 'seq_len',
            message: 'trial.seq_len must be an integer, got "abc"',
          }),
        );
      },
      { prefetch: 1 },
    );
    await waitFor(() => settled.length === 1);
    await settled[0];
    // Closing returns unacked messages to the queue, so an empty queue proves the ack happened.
    await bus.close();
    expect((await channel.checkQueue(names.intakeQueue)).messageCount).toBe(0);

    const dead = await channel.get(names.deadLetterQueue, { noAck: true });
    if (dead === false) throw new Error('no dead letter');
    expect(dead.content.equals(body)).toBe(true);
    const headers = dead.properties.headers ?? {};
    expect(headers).toMatchObject({
      'x-automat-error-code': ErrorCodes.INVALID_MESSAGE,
      'x-automat-error-field': 'seq_len',
      'x-automat-error-message': 'trial.seq_len must be an integer, got "abc"',
      'x-automat-original-queue': names.intakeQueue,
      'x-automat-original-routing-key': names.intakeQueue,
      'x-automat-original-exchange': '',
    });
    expect(Date.parse(String(headers['x-automat-dead-lettered-at']))).not.toBeNaN();
  });

  it('requeues the message of a handler that failed, marked redelivered', async () => {
    await bus.submit({ n: 1 });
    const seen: boolean[] = [];
    await bus.consumeIntake(
      async (d) => {
        seen.push(d.redelivered);
        if (seen.length === 1) throw new Error('handler crashed');
        d.ack();
      },
      { prefetch: 1 },
    );
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([false, true]);
  });

  it('fails a submit that no queue takes instead of dropping it', async () => {
    await channel.deleteQueue(names.intakeQueue);
    await expect(bus.submit({ n: 1 })).rejects.toMatchObject({
      code: ErrorCodes.BUS_UNAVAILABLE,
      message: expect.stringMatching(/NO_ROUTE/),
    });
  });

  it('rejects a prefetch that is not a positive integer', async () => {
    await expect(bus.consumeIntake(async () => undefined, { prefetch: 0 })).rejects.toMatchObject({
      code: ErrorCodes.CONFIG_INVALID,
    });
  });
});
