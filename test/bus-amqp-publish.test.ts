import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import { EVENTS_PATTERN, eventKey, HEARTBEATS_PATTERN, heartbeatKey } from '../src/bus/bus.js';
import { busTopology, busTopologyNames, type BusTopologyNames } from '../src/bus/bus-topology.js';
import { silentLogger } from '../src/log/logger.js';

const url = process.env.AUTOMAT_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('AmqpBus publish and subscribe', () => {
  let names: BusTopologyNames;
  let bus: AmqpBus;

  beforeEach(async () => {
    names = busTopologyNames(`automat-test-${randomUUID().slice(0, 8)}`);
    bus = await AmqpBus.connect({ url, logger: silentLogger, names });
  });

  afterEach(async () => {
    await bus.close();
    const connection = await amqp.connect(url);
    await deleteBusTopology(await connection.createChannel(), busTopology(names));
    await connection.close();
  });

  it('confirms publishes and delivers them to pattern subscribers in order', async () => {
    const heartbeats: [string, unknown][] = [];
    const events: [string, unknown][] = [];
    await bus.subscribe(HEARTBEATS_PATTERN, (key, message) => heartbeats.push([key, message]));
    await bus.subscribe(EVENTS_PATTERN, (key, message) => events.push([key, message]));

    const sent: Promise<void>[] = [];
    for (let seq = 0; seq < 50; seq++) {
      const key = seq % 5 === 0 ? eventKey('trial-a') : heartbeatKey(seq % 2 ? 'trial-a' : 'b');
      sent.push(bus.publish(key, { type: 'test', seq }));
    }
    await Promise.all(sent);
    await waitFor(() => heartbeats.length + events.length === 50);

    const seqs = (list: [string, unknown][]) => list.map(([, m]) => (m as { seq: number }).seq);
    expect(seqs(events)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(seqs(heartbeats)).toEqual([...Array(50).keys()].filter((n) => n % 5 !== 0));
    expect(events.every(([key]) => key === 'automat.events.trial-a')).toBe(true);
    expect(heartbeats[0]).toEqual(['automat.heartbeats.trial-a', { type: 'test', seq: 1 }]);
  });

  it('stops delivering once a subscription is closed', async () => {
    const seen: unknown[] = [];
    const subscription = await bus.subscribe('automat.events.*', (_key, m) => seen.push(m));
    await bus.publish(eventKey('t'), { n: 1 });
    await waitFor(() => seen.length === 1);
    await subscription.close();
    await subscription.close();
    await bus.publish(eventKey('t'), { n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('refuses a message JSON cannot carry before it reaches the broker', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(bus.publish(eventKey('t'), cyclic)).rejects.toMatchObject({
      code: 'AUTOMAT_E_INVALID_MESSAGE',
    });
  });
});
