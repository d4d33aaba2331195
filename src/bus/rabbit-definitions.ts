import type { BusTopology } from './bus-topology.js';

/**
 * The subset of RabbitMQ's definitions format (`rabbitmqctl export_definitions`) that a topology
 * needs. Users and permissions are deliberately absent: credentials never go into the repository.
 */
export interface RabbitDefinitions {
  vhosts: { name: string }[];
  exchanges: {
    name: string;
    vhost: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
    internal: boolean;
    arguments: Record<string, string | number>;
  }[];
  queues: {
    name: string;
    vhost: string;
    durable: boolean;
    auto_delete: boolean;
    arguments: Record<string, string | number>;
  }[];
  bindings: {
    source: string;
    vhost: string;
    destination: string;
    destination_type: 'queue';
    routing_key: string;
    arguments: Record<string, never>;
  }[];
}

export function rabbitDefinitions(topology: BusTopology, vhost = '/'): RabbitDefinitions {
  return {
    vhosts: [{ name: vhost }],
    exchanges: topology.exchanges.map((e) => ({
      name: e.name,
      vhost,
      type: e.type,
      durable: e.durable,
      auto_delete: e.autoDelete,
      internal: e.internal,
      arguments: { ...e.arguments },
    })),
    queues: topology.queues.map((q) => ({
      name: q.name,
      vhost,
      durable: q.durable,
      auto_delete: q.autoDelete,
      arguments: { ...q.arguments },
    })),
    bindings: topology.bindings.map((b) => ({
      source: b.source,
      vhost,
      destination: b.destination,
      destination_type: 'queue',
      routing_key: b.routingKey,
      arguments: {},
    })),
  };
}

/** The exact text of `rabbitmq/definitions.json`; the drift test compares files byte for byte. */
export function renderRabbitDefinitions(topology: BusTopology): string {
  return `${JSON.stringify(rabbitDefinitions(topology), null, 2)}\n`;
}
