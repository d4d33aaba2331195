/**
 * The outbox relay against the real Postgres and RabbitMQ, each reached through a TCP proxy
 * that a test cuts to make an outage without disturbing the shared services. A second bus,
 * connected directly, watches what reaches the exchange.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import { EVENTS_PATTERN, eventKey } from '../src/bus/bus.js';
import { busTopology, busTopologyNames, type BusTopologyNames } from '../src/bus/bus-topology.js';
import { systemClock } from '../src/clock/clock.js';
import { ExecutorHealth } from '../src/health/executor-health.js';
import { silentLogger } from '../src/log/logger.js';
import { OutboxRelay } from '../src/outbox/outbox-relay.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { T0, databaseUrl, spec } from './store-harness.js';
import { TcpFaultProxy } from './support/tcp-fault-proxy.js';
import { waitFor } from './support/wait-for.js';

const amqpUrl = process.env.AUTOMAT_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const LEASE = { owner: 'exec-a', expiresAt: '2999-01-01T00:00:00.000Z' };

describe('outbox relay (Postgres and RabbitMQ behind cuttable proxies)', () => {
  let names: BusTopologyNames;
  let schema: string;
  let pgProxy: TcpFaultProxy;
  let amqpProxy: TcpFaultProxy;
  let store: PostgresTrialStore;
  let bus: AmqpBus;
  let watcher: AmqpBus;
  let health: ExecutorHealth;
  let relay: OutboxRelay;
  let seen: Array<{ trial_id: string; seq: number }>;

  beforeEach(async () => {
    const id = randomUUID().slice(0, 8);
    names = busTopologyNames(`automat-outbox-${id}`);
    schema = `outbox_test_${id}`;
    const pgUrl = new URL(databaseUrl);
    pgProxy = await TcpFaultProxy.start(pgUrl.hostname, Number(pgUrl.port || 5432));
    amqpProxy = await TcpFaultProxy.start('127.0.0.1', Number(new URL(amqpUrl).port || 5672));
    store = new PostgresTrialStore({
      connectionString: pgProxy.rewrite(databaseUrl),
      schema,
      logger: silentLogger,
    });
    await store.migrate();
    bus = await AmqpBus.connect({ url: amqpProxy.rewrite(amqpUrl), logger: silentLogger, names });
    watcher = await AmqpBus.connect({ url: amqpUrl, logger: silentLogger, names });
    seen = [];
    await watcher.subscribe(EVENTS_PATTERN, (_key, m) => seen.push(m as (typeof seen)[number]));
    health = new ExecutorHealth(systemClock, silentLogger);
    relay = new OutboxRelay({
      store,
      bus,
      clock: systemClock,
      logger: silentLogger,
      health,
      owner: 'exec-a',
    });
    await store.createTrial(spec('t-1'), T0, LEASE);
  });

  afterEach(async () => {
    await Promise.allSettled([bus.close(), watcher.close(), store.close()]);
    await Promise.all([pgProxy.close(), amqpProxy.close()]);
    const connection = await amqp.connect(amqpUrl);
    await deleteBusTopology(await connection.createChannel(), busTopology(names));
    await connection.close();
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  const event = (trialId: string, seq: number) => ({
    type: 'trial.state_changed',
    trial_id: trialId,
    seq,
    ts: new Date().toISOString(),
  });

  it('stores, publishes and marks each message, in seq order', async () => {
    for (const seq of [0, 1, 2]) await relay.send(eventKey('t-1'), event('t-1', seq));

    await waitFor(() => seen.length === 3, 5_000, 'three events on the bus');
    expect(seen.map((m) => m.seq)).toEqual([0, 1, 2]);
    const stored = await store.listMessages('t-1');
    expect(stored.map((m) => [m.seq, typeof m.publishedAt])).toEqual([
      [0, 'string'],
      [1, 'string'],
      [2, 'string'],
    ]);
    expect(relay.backlog).toBe(0);
  });

  it('keeps messages through a broker outage and sends them, in order, once it is back', async () => {
    await relay.send(eventKey('t-1'), event('t-1', 0));
    amqpProxy.cut();
    await waitFor(() => bus.health().status === 'reconnecting', 5_000, 'the bus to notice');
    for (const seq of [1, 2, 3]) await relay.send(eventKey('t-1'), event('t-1', seq));

    expect(relay.backlog).toBe(3);
    expect((await store.listUnpublished('t-1', 10)).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(health.snapshot().components.outbox.status).toBe('degraded');

    amqpProxy.restore();
    await waitFor(() => bus.health().status === 'connected', 20_000, 'the bus to reconnect');
    await relay.pump();
    await waitFor(() => seen.length === 4, 5_000, 'all four events on the bus');
    expect(seen.map((m) => m.seq)).toEqual([0, 1, 2, 3]);
    expect(await store.listUnpublished('t-1', 10)).toEqual([]);
    expect(health.snapshot().components.outbox.status).toBe('ok');
  });

  it('publishes through a database outage and stores the messages once it is back', async () => {
    pgProxy.cut();
    for (const seq of [0, 1]) await relay.send(eventKey('t-1'), event('t-1', seq));

    await waitFor(() => seen.length === 2, 5_000, 'both events on the bus');
    expect(relay.backlog).toBe(2);
    expect(health.snapshot().components.store.status).toBe('degraded');

    pgProxy.restore();
    await relay.pump();
    expect(relay.backlog).toBe(0);
    const stored = await store.listMessages('t-1');
    expect(stored.map((m) => m.seq)).toEqual([0, 1]);
    expect(stored.every((m) => m.publishedAt !== undefined)).toBe(true);
    expect(health.snapshot().status).toBe('ok');
  });

  it('replays backlogs of trials whose lease lapsed, not those another executor holds', async () => {
    const lapsed = { owner: 'exec-dead', expiresAt: '2000-01-01T00:00:00.000Z' };
    await store.createTrial(spec('t-dead'), T0, lapsed);
    await store.createTrial(spec('t-live'), T0, { owner: 'exec-c', expiresAt: LEASE.expiresAt });
    for (const trialId of ['t-dead', 't-live']) {
      for (const seq of [1, 0, 2]) {
        await store.recordMessage({
          trialId,
          seq,
          type: 'trial.state_changed',
          payload: event(trialId, seq),
          recordedAt: T0,
        });
      }
    }

    await relay.replayStored();

    await waitFor(() => seen.length === 3, 5_000, 'the dead trial backlog on the bus');
    expect(seen.map((m) => [m.trial_id, m.seq])).toEqual([
      ['t-dead', 0],
      ['t-dead', 1],
      ['t-dead', 2],
    ]);
    expect(await store.listUnpublished('t-dead', 10)).toEqual([]);
    expect(await store.listUnpublished('t-live', 10)).toHaveLength(3);
  });
});
