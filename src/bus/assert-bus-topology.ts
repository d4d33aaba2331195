import type { Channel } from 'amqplib';
import type { BusTopology } from './bus-topology.js';

/**
 * Declares the topology on a channel. Idempotent while the broker's objects match; a mismatch
 * (say a classic `automat.trials` left from an old deployment) makes the broker close the channel
 * with 406 PRECONDITION_FAILED, which the caller translates.
 */
export async function assertBusTopology(channel: Channel, topology: BusTopology): Promise<void> {
  for (const e of topology.exchanges) {
    await channel.assertExchange(e.name, e.type, {
      durable: e.durable,
      autoDelete: e.autoDelete,
      internal: e.internal,
      arguments: e.arguments,
    });
  }
  for (const q of topology.queues) {
    await channel.assertQueue(q.name, {
      durable: q.durable,
      autoDelete: q.autoDelete,
      exclusive: false,
      arguments: q.arguments,
    });
  }
  for (const b of topology.bindings) {
    await channel.bindQueue(b.destination, b.source, b.routingKey);
  }
}

/** Removes queues, then exchanges; for tests and smokes that declared a scratch topology. */
export async function deleteBusTopology(channel: Channel, topology: BusTopology): Promise<void> {
  for (const q of topology.queues) await channel.deleteQueue(q.name);
  for (const e of topology.exchanges) await channel.deleteExchange(e.name);
}
