import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { describe, expect, it, type TestContext } from 'vitest';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import type { AmqpBusOptions } from '../src/bus/amqp-bus-options.js';
import { assertBusTopology, deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import { eventKey, heartbeatKey, type BusHealth, type IntakeDelivery } from '../src/bus/bus.js';
import { busTopology, busTopologyNames, type BusTopologyNames } from '../src/bus/bus-topology.js';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { silentLogger, type Logger } from '../src/log/logger.js';
import { waitFor } from './support/wait-for.js';

/**
 * Outages are simulated without stopping the shared broker: the management API force-closes the
 * bus's own connection, found by the unique connection name each test gives it.
 */
const url = process.env.AUTOMAT_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const management = process.env.AUTOMAT_RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** Closes the broker connection named `connectionName` with reason "test kicked the bus". */
async function forceClose(connectionName: string): Promise<void> {
  // The management database lists a new connection a few seconds after it opened.
  for (let attempt = 0; attempt < 300; attempt++) {
    const response = await fetch(`${management}/api/connections?columns=name,client_properties`, {
      headers: { authorization: auth },
    });
    const list = (await response.json()) as {
      name: string;
      client_properties: { connection_name?: string };
    }[];
    const mine = list.find((c) => c.client_properties.connection_name === connectionName);
    if (mine) {
      const target = `${management}/api/connections/${encodeURIComponent(mine.name)}`;
      const headers = { authorization: auth, 'x-reason': 'test kicked the bus' };
      const deleted = await fetch(target, { method: 'DELETE', headers });
      if (!deleted.ok) throw new Error(`DELETE ${mine.name} answered ${deleted.status}`);
      return;
    }
    await sleep(50);
  }
  throw new Error(`connection ${connectionName} never appeared in the management API`);
}

interface LogLine {
  level: string;
  message: string;
  meta: Record<string, unknown> | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void =>
      void lines.push({ level, message, meta });
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

interface Fixture {
  bus: AmqpBus;
  names: BusTopologyNames;
  connectionName: string;
  /** Every health the listeners were told of, in order. */
  health: BusHealth[];
  log: LogLine[];
}

/** A bus with its own topology and connection name, closed and cleaned up after the test. */
async function connect(
  context: TestContext,
  options: Partial<AmqpBusOptions> = {},
): Promise<Fixture> {
  const names = busTopologyNames(`automat-test-${randomUUID().slice(0, 8)}`);
  const connectionName = `automat-test-${randomUUID()}`;
  const log: LogLine[] = [];
  const logger = recordingLogger(log);
  const bus = await AmqpBus.connect({ url, logger, names, connectionName, ...options });
  context.onTestFinished(async () => {
    await bus.close();
    await withAdmin((channel) => deleteBusTopology(channel, busTopology(names)));
  });
  const fixture: Fixture = { bus, names, connectionName, health: [], log };
  bus.onHealthChange((health) => fixture.health.push(health));
  return fixture;
}

const statuses = (fixture: Fixture) => fixture.health.map((h) => h.status);

/** Kicks the bus off the broker and waits until it knows. */
async function outage(fixture: Fixture): Promise<void> {
  await forceClose(fixture.connectionName);
  await waitFor(() => statuses(fixture).includes('reconnecting'), 10_000, 'health reconnecting');
}

async function recovered(fixture: Fixture): Promise<void> {
  await waitFor(() => fixture.bus.health().status === 'connected', 15_000, 'health connected');
}

async function failure(promise: Promise<unknown>): Promise<AutomatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AutomatError);
  return error as AutomatError;
}

async function withAdmin<T>(use: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(url);
  try {
    return await use(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

// Concurrent: most of each test is waiting for the management API to list the new connection.
describe.concurrent('AmqpBus when the broker drops the connection', () => {
  it('tells health listeners it is reconnecting, then connected again', async (context) => {
    const before = Date.now();
    const fixture = await connect(context, { reconnectInitialDelayMs: 100 });
    await outage(fixture);
    await recovered(fixture);
    expect(statuses(fixture)).toEqual(['reconnecting', 'connected']);
    const [reconnecting] = fixture.health;
    expect(reconnecting).toMatchObject({ status: 'reconnecting', attempts: 0 });
    if (reconnecting?.status !== 'reconnecting') throw new Error('not reconnecting');
    expect(reconnecting.since).toBeGreaterThanOrEqual(before);
    expect(reconnecting.reason).toMatch(/CONNECTION_FORCED.*test kicked the bus/);
    const reconnected = fixture.log.find((line) => line.message === 'bus reconnected');
    expect(reconnected?.meta).toMatchObject({ attempts: 1, downtimeMs: expect.any(Number) });
  });

  it('fails publish and submit fast with BUS_UNAVAILABLE, naming the outage', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 3000 });
    await outage(fixture);
    const started = Date.now();
    const published = await failure(fixture.bus.publish(heartbeatKey('t'), { n: 1 }));
    const submitted = await failure(fixture.bus.submit({ n: 1 }));
    expect(Date.now() - started).toBeLessThan(500);
    expect(fixture.bus.health().status).toBe('reconnecting');
    expect(published.code).toBe(ErrorCodes.BUS_UNAVAILABLE);
    expect(published.message).toMatch(/^cannot publish "automat\.heartbeats\.t": the connection/);
    expect(published.message).toMatch(/CONNECTION_FORCED.*test kicked the bus.*reconnecting/);
    expect(submitted.code).toBe(ErrorCodes.BUS_UNAVAILABLE);
    expect(submitted.message).toMatch(/^cannot submit to queue .*CONNECTION_FORCED/);

    await recovered(fixture);
    await expect(fixture.bus.publish(heartbeatKey('t'), { n: 2 })).resolves.toBeUndefined();
  });

  it('settles publishes unconfirmed at the drop with BUS_UNAVAILABLE', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 2000 });
    // Each outcome is taken at once: a rejection nobody awaits yet would be reported unhandled.
    const outcomes: Promise<unknown>[] = [];
    let pumping = true;
    const pump = (async () => {
      for (let n = 0; pumping; n++) {
        const sent = fixture.bus.publish(heartbeatKey('t'), { n });
        outcomes.push(
          sent.then(
            () => 'confirmed',
            (error: unknown) => error,
          ),
        );
        if (n % 20 === 0) await sleep(1);
      }
    })();
    await outage(fixture);
    pumping = false;
    await pump;
    const settled = await Promise.race([Promise.all(outcomes), sleep(5000, 'hung' as const)]);
    if (settled === 'hung') throw new Error('a publish neither resolved nor rejected');
    const errors = settled.filter((outcome) => outcome !== 'confirmed') as AutomatError[];
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.code)).toEqual(errors.map(() => ErrorCodes.BUS_UNAVAILABLE));
  });

  it('delivers to a subscription opened before the outage', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 100 });
    const seen: unknown[] = [];
    await fixture.bus.subscribe('automat.events.*', (_key, message) => seen.push(message));
    await fixture.bus.publish(eventKey('t'), { n: 1 });
    await waitFor(() => seen.length === 1, 5000, 'the first event');

    await outage(fixture);
    await recovered(fixture);
    await fixture.bus.publish(eventKey('t'), { n: 2 });
    await waitFor(() => seen.length === 2, 5000, 'the event published after reconnecting');
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('opens a subscription made during the outage once reconnected', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 1500 });
    await outage(fixture);
    const seen: unknown[] = [];
    const started = Date.now();
    await fixture.bus.subscribe('automat.events.*', (_key, message) => seen.push(message));
    expect(Date.now() - started).toBeLessThan(500);

    await recovered(fixture);
    await fixture.bus.publish(eventKey('t'), { n: 1 });
    await waitFor(() => seen.length === 1, 5000, 'the event');
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('keeps retrying, logging at error, while the broker refuses the topology', async (context) => {
    const fixture = await connect(context, {
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 200,
    });
    const { intakeQueue } = fixture.names;
    // A classic queue where the bus declares a quorum queue: 406 PRECONDITION_FAILED.
    await withAdmin(async (channel) => {
      await channel.deleteQueue(intakeQueue);
      await channel.assertQueue(intakeQueue, { durable: true });
    });
    await outage(fixture);
    const refusals = () =>
      fixture.log.filter((line) => line.message === 'bus reconnect attempt failed');
    await waitFor(() => refusals().length >= 2, 10_000, 'two refused attempts');
    expect(refusals().map((line) => line.level)).toEqual(refusals().map(() => 'error'));
    expect(refusals()[0]?.meta).toMatchObject({
      attempt: 1,
      code: ErrorCodes.CONFIG_INVALID,
      nextDelayMs: expect.any(Number),
      error: expect.stringMatching(/406 PRECONDITION_FAILED/),
    });
    expect(fixture.bus.health()).toMatchObject({ status: 'reconnecting' });
    expect(JSON.stringify(fixture.log)).not.toMatch(/guest:guest/);

    await withAdmin((channel) => channel.deleteQueue(intakeQueue));
    await recovered(fixture);
    expect(statuses(fixture)).toEqual(['reconnecting', 'connected']);
  });

  it('stops reconnecting and resolves at once when closed during the outage', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 1000 });
    await outage(fixture);
    const started = Date.now();
    await fixture.bus.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(fixture.bus.health()).toMatchObject({ status: 'closed' });
    expect(statuses(fixture)).toEqual(['reconnecting', 'closed']);

    // The first attempt was due 800 to 1000 ms after the drop.
    await sleep(1500);
    expect(fixture.log.filter((line) => line.message === 'bus reconnect attempt')).toEqual([]);
    const error = await failure(fixture.bus.publish(heartbeatKey('t'), {}));
    expect(error.code).toBe(ErrorCodes.BUS_CLOSED);
  });
});

describe.concurrent('AmqpBus intake across a reconnection', () => {
  function collect(fixture: Fixture, held: IntakeDelivery[], ack: boolean): Promise<void> {
    return fixture.bus.consumeIntake(
      async (delivery) => {
        held.push(delivery);
        if (ack) delivery.ack();
      },
      { prefetch: 2 },
    );
  }
  const bodies = (held: IntakeDelivery[]) => held.map((d) => JSON.parse(d.body.toString()));

  it('consumes again after reconnecting, with the original handler', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 100 });
    const held: IntakeDelivery[] = [];
    await collect(fixture, held, true);
    await fixture.bus.submit({ n: 1 });
    await waitFor(() => held.length === 1, 5000, 'the first trial');

    await outage(fixture);
    await recovered(fixture);
    await fixture.bus.submit({ n: 2 });
    await waitFor(() => held.length === 2, 5000, 'the trial submitted after reconnecting');
    expect(bodies(held)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('keeps a paused intake paused across the reconnection until resumeIntake', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 100 });
    const held: IntakeDelivery[] = [];
    await collect(fixture, held, true);
    await fixture.bus.pauseIntake();

    await outage(fixture);
    await recovered(fixture);
    await fixture.bus.submit({ n: 1 });
    await sleep(500);
    expect(held).toEqual([]);
    const { messageCount } = await withAdmin((c) => c.checkQueue(fixture.names.intakeQueue));
    expect(messageCount).toBe(1);

    await fixture.bus.resumeIntake();
    await waitFor(() => held.length === 1, 5000, 'the trial after resuming');
    expect(bodies(held)).toEqual([{ n: 1 }]);
  });

  it('applies a pause asked for during the outage once reconnected', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 1500 });
    const held: IntakeDelivery[] = [];
    await collect(fixture, held, true);
    await outage(fixture);
    await fixture.bus.pauseIntake();

    await recovered(fixture);
    await fixture.bus.submit({ n: 1 });
    await sleep(500);
    expect(held).toEqual([]);
    await fixture.bus.resumeIntake();
    await waitFor(() => held.length === 1, 5000, 'the trial after resuming');
  });

  it('redelivers a delivery left unacked at the drop, marked redelivered', async (context) => {
    const fixture = await connect(context, { reconnectInitialDelayMs: 100 });
    const held: IntakeDelivery[] = [];
    await collect(fixture, held, false);
    await fixture.bus.submit({ n: 1 });
    await waitFor(() => held.length === 1, 5000, 'the first delivery');
    const [first] = held as [IntakeDelivery];
    expect(first.redelivered).toBe(false);

    await outage(fixture);
    await recovered(fixture);
    await waitFor(() => held.length === 2, 5000, 'the redelivery');
    const second = held[1] as IntakeDelivery;
    expect(second.redelivered).toBe(true);
    expect(second.body.equals(first.body)).toBe(true);

    expect(() => first.ack()).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BUS_UNAVAILABLE,
        message: expect.stringMatching(/CONNECTION_FORCED.*deliver it again/),
      }),
    );
    const refused = await failure(first.deadLetter({ code: 'X', message: 'too late' }));
    expect(refused.code).toBe(ErrorCodes.BUS_UNAVAILABLE);
    second.ack();

    await fixture.bus.close();
    const { intakeQueue, deadLetterQueue } = fixture.names;
    const counts = await withAdmin(async (c) => [
      (await c.checkQueue(intakeQueue)).messageCount,
      (await c.checkQueue(deadLetterQueue)).messageCount,
    ]);
    expect(counts).toEqual([0, 0]);
  });
});

describe('AmqpBus after a channel-only failure', () => {
  it('publishes on a fresh channel once the missing exchange is back', async (context) => {
    const fixture = await connect(context);
    await withAdmin((channel) => channel.deleteExchange(fixture.names.exchange));
    const error = await failure(fixture.bus.publish(heartbeatKey('t'), { n: 1 }));
    expect(error.message).toMatch(/404 \(NOT-FOUND\)/);

    await withAdmin((channel) => assertBusTopology(channel, busTopology(fixture.names)));
    await expect(fixture.bus.publish(heartbeatKey('t'), { n: 2 })).resolves.toBeUndefined();
    expect(fixture.bus.health()).toEqual({ status: 'connected' });
    expect(fixture.health).toEqual([]);
  });
});

describe('AmqpBus first connect', () => {
  it('does not retry when the broker is not listening', async () => {
    const started = Date.now();
    const error = await failure(
      AmqpBus.connect({ url: 'amqp://guest:s3cret@127.0.0.1:5679', logger: silentLogger }),
    );
    expect(error.code).toBe(ErrorCodes.BUS_UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
