import { describe, expect, it } from 'vitest';
import { eventKey, heartbeatKey, type IntakeDelivery } from '../src/bus/bus.js';
import { MemoryBus } from '../src/bus/memory-bus.js';
import { topicMatches } from '../src/bus/topic-pattern.js';
import { ErrorCodes } from '../src/errors/index.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('topic patterns', () => {
  it.each([
    ['automat.heartbeats.#', 'automat.heartbeats.t1', true],
    ['automat.heartbeats.#', 'automat.heartbeats', true],
    ['automat.heartbeats.#', 'automat.events.t1', false],
    ['automat.*.t1', 'automat.events.t1', true],
    ['automat.*.t1', 'automat.events.x.t1', false],
    ['automat.*', 'automat', false],
    ['#', 'anything.at.all', true],
    ['#.t1', 'automat.events.t1', true],
    ['automat.#.t1', 'automat.t1', true],
    ['automat.#.t1', 'automat.a.b.t1', true],
    ['automat.#.t1', 'automat.a.b.t2', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
  ])('%s against %s is %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});

describe('memory bus', () => {
  it('delivers matching messages to each subscriber in publish order', async () => {
    const bus = new MemoryBus();
    const heartbeats: unknown[] = [];
    const everything: string[] = [];
    await bus.subscribe('automat.heartbeats.#', (_key, message) => heartbeats.push(message));
    await bus.subscribe('#', (key) => everything.push(key));
    for (let seq = 0; seq < 5; seq++) await bus.publish(heartbeatKey('t1'), { seq });
    await bus.publish(eventKey('t1'), { seq: 5 });
    await settle();
    expect(heartbeats).toEqual([0, 1, 2, 3, 4].map((seq) => ({ seq })));
    expect(everything).toEqual([...Array(5).fill('automat.heartbeats.t1'), 'automat.events.t1']);
    await bus.close();
  });

  it('hands a subscriber a copy, as the wire would', async () => {
    const bus = new MemoryBus();
    const seen: unknown[] = [];
    await bus.subscribe('#', (_key, message) => seen.push(message));
    const message = { nested: { value: 1 } };
    await bus.publish('a.b', message);
    message.nested.value = 2;
    await settle();
    expect(seen).toEqual([{ nested: { value: 1 } }]);
    await bus.close();
  });

  it('keeps at most `prefetch` intake messages unsettled', async () => {
    const bus = new MemoryBus();
    const held: IntakeDelivery[] = [];
    for (let n = 0; n < 5; n++) await bus.submit({ n });
    await bus.consumeIntake(async (d) => void held.push(d), { prefetch: 2 });
    await settle();
    expect(held).toHaveLength(2);
    held[0]?.ack();
    await settle();
    expect(held.map((d) => JSON.parse(d.body.toString()).n)).toEqual([0, 1, 2]);
    await bus.close();
  });

  it('dead-letters with the reason and requeues when a handler fails', async () => {
    const bus = new MemoryBus({ deliveryLimit: 2 });
    let calls = 0;
    const redelivered: boolean[] = [];
    await bus.consumeIntake(
      async (d) => {
        redelivered.push(d.redelivered);
        calls += 1;
        if (d.body.toString() === '"poison"') throw new Error('boom');
        await d.deadLetter({ code: ErrorCodes.INVALID_MESSAGE, field: 'seq_len', message: 'bad' });
      },
      { prefetch: 1 },
    );
    await bus.submit(Buffer.from('"poison"'));
    await bus.submit({ bad: true });
    await settle();
    expect(calls).toBe(3);
    expect(redelivered).toEqual([false, true, false]);
    expect(bus.deadLetters.map((d) => [d.body.toString(), d.reason.code, d.reason.field])).toEqual([
      ['"poison"', 'delivery_limit', undefined],
      ['{"bad":true}', ErrorCodes.INVALID_MESSAGE, 'seq_len'],
    ]);
    await bus.close();
  });

  it('closes idempotently and names the close in later errors', async () => {
    const bus = new MemoryBus();
    const first = bus.close();
    expect(bus.close()).toBe(first);
    await first;
    const error = await bus.publish('a.b', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.BUS_CLOSED });
    expect(String((error as Error).message)).toMatch(/MemoryBus\.close\(\) was called/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
