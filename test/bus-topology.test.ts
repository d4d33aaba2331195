import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busTopology, busTopologyNames, DEFAULT_BUS_NAMES } from '../src/bus/bus-topology.js';
import { rabbitDefinitions, renderRabbitDefinitions } from '../src/bus/rabbit-definitions.js';

describe('bus topology', () => {
  it('matches the committed rabbitmq/definitions.json byte for byte', () => {
    const committed = readFileSync('rabbitmq/definitions.json', 'utf8');
    // On failure: npm run build && node dist/scripts/export-rabbitmq-definitions.js
    expect(committed).toBe(renderRabbitDefinitions(busTopology()));
  });

  it('declares a quorum intake queue that dead-letters poison messages', () => {
    const { queues, exchanges, bindings } = busTopology();
    const intake = queues.find((q) => q.name === 'automat.trials');
    expect(intake).toMatchObject({
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': 'automat.dlx',
        'x-delivery-limit': 5,
      },
    });
    expect(exchanges.find((e) => e.name === 'automat.dlx')?.type).toBe('fanout');
    expect(exchanges.find((e) => e.name === 'automat')?.type).toBe('topic');
    expect(bindings).toContainEqual({
      source: 'automat.dlx',
      destination: 'automat.trials.dead',
      routingKey: '',
    });
    const dead = queues.find((q) => q.name === 'automat.trials.dead');
    expect(dead?.arguments['x-queue-type']).toBe('quorum');
    expect(queues.map((q) => q.name)).toContain('automat.control');
  });

  it('keeps credentials out of the definitions', () => {
    const definitions = rabbitDefinitions(busTopology()) as unknown as Record<string, unknown>;
    expect(Object.keys(definitions).sort()).toEqual(['bindings', 'exchanges', 'queues', 'vhosts']);
    expect(JSON.stringify(definitions)).not.toMatch(/password|users|permissions/);
  });

  it('derives every name from one root, so tests can run side by side', () => {
    expect(busTopologyNames('automat')).toEqual(DEFAULT_BUS_NAMES);
    expect(busTopologyNames('t-1')).toEqual({
      exchange: 't-1',
      intakeQueue: 't-1.trials',
      deadLetterExchange: 't-1.dlx',
      deadLetterQueue: 't-1.trials.dead',
      controlQueue: 't-1.control',
    });
    expect(busTopology(DEFAULT_BUS_NAMES, { deliveryLimit: 2 }).queues[0]?.arguments).toMatchObject(
      { 'x-delivery-limit': 2 },
    );
  });
});
