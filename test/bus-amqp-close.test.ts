import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AmqpBus } from '../src/bus/amqp-bus.js';
import { deleteBusTopology } from '../src/bus/assert-bus-topology.js';
import { heartbeatKey } from '../src/bus/bus.js';
import { busTopology, busTopologyNames, type BusTopologyNames } from '../src/bus/bus-topology.js';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';

const url = process.env.AUTOMAT_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function failure(promise: Promise<unknown>): Promise<AutomatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AutomatError);
  return error as AutomatError;
}

describe('AmqpBus close and failures', () => {
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

  it('returns the same promise from every close() call', async () => {
    const first = bus.close();
    expect(bus.close()).toBe(first);
    await first;
    await bus.close();
  });

  it('waits for unconfirmed publishes before closing', async () => {
    const published = Array.from({ length: 20 }, (_, seq) =>
      bus.publish(heartbeatKey('t'), { seq }),
    );
    await bus.close();
    await expect(Promise.all(published)).resolves.toBeDefined();
  });

  it('names why the bus closed when publishing afterwards', async () => {
    await bus.close();
    const error = await failure(bus.publish(heartbeatKey('t'), { seq: 1 }));
    expect(error.code).toBe(ErrorCodes.BUS_CLOSED);
    expect(error.message).toMatch(/AmqpBus\.close\(\) was called/);
    // The cause's stack shows who closed the bus.
    expect((error.cause as Error).stack).toMatch(/close/);
    expect((await failure(bus.submit({}))).code).toBe(ErrorCodes.BUS_CLOSED);
    expect((await failure(bus.subscribe('#', () => undefined))).code).toBe(ErrorCodes.BUS_CLOSED);
  });

  it('names the broker error that closed the publish channel', async () => {
    const connection = await amqp.connect(url);
    await (await connection.createChannel()).deleteExchange(names.exchange);
    await connection.close();

    const first = await failure(bus.publish(heartbeatKey('t'), { seq: 1 }));
    expect(first.code).toBe(ErrorCodes.BUS_CLOSED);
    expect(first.message).toMatch(/404 \(NOT-FOUND\)/);

    const later = await failure(bus.publish(heartbeatKey('t'), { seq: 2 }));
    expect(later.code).toBe(ErrorCodes.BUS_CLOSED);
    expect(later.message).toMatch(/publish channel closed at .*NOT_FOUND - no exchange/);
  });

  it('reports a broker that is not listening as BUS_UNAVAILABLE without the password', async () => {
    const error = await failure(
      AmqpBus.connect({ url: 'amqp://guest:s3cret@127.0.0.1:5679', logger: silentLogger }),
    );
    expect(error.code).toBe(ErrorCodes.BUS_UNAVAILABLE);
    expect(error.message).toMatch(/127\.0\.0\.1:5679/);
    expect(error.message).not.toMatch(/s3cret/);
  });

  it('reports a queue declared differently on the broker as CONFIG_INVALID', async () => {
    const clash = busTopologyNames(`automat-test-${randomUUID().slice(0, 8)}`);
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    await channel.assertQueue(clash.intakeQueue, { durable: true }); // classic, not quorum
    try {
      const error = await failure(AmqpBus.connect({ url, logger: silentLogger, names: clash }));
      expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
      expect(error.message).toMatch(/406 PRECONDITION_FAILED.*inequivalent arg/);
    } finally {
      await deleteBusTopology(channel, busTopology(clash));
      await connection.close();
    }
  });

  it('reports refused credentials as CONFIG_INVALID', async () => {
    const error = await failure(
      AmqpBus.connect({ url: 'amqp://guest:wrong@127.0.0.1:5672', logger: silentLogger, names }),
    );
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error.message).toMatch(/403 ACCESS_REFUSED/);
    expect(error.message).not.toMatch(/:wrong@/);
  });
});
