/**
 * The broker topology as plain data. The AMQP adapter asserts it at start and
 * `scripts/export-rabbitmq-definitions.ts` renders it as `rabbitmq/definitions.json`, so the
 * declared and the deployed topology come from one source and a test catches any drift.
 */

/** Names of everything Automat0 declares. Tests derive their own with {@link busTopologyNames}. */
export interface BusTopologyNames {
  /** Topic exchange carrying `automat.heartbeats.<trial_id>`, `.events.` and `.answers.` messages. */
  exchange: string;
  /** Quorum queue the planner publishes TrialSpecs to. */
  intakeQueue: string;
  /** Exchange that receives rejected and poison intake messages. */
  deadLetterExchange: string;
  /** Quorum queue bound to the dead-letter exchange; an operator inspects it. */
  deadLetterQueue: string;
  /** Quorum queue for planner commands such as cancel. */
  controlQueue: string;
}

export interface ExchangeSpec {
  name: string;
  type: 'topic' | 'fanout' | 'direct';
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, string | number>;
}

export interface QueueSpec {
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, string | number>;
}

export interface BindingSpec {
  /** The exchange. */
  source: string;
  /** The queue. */
  destination: string;
  routingKey: string;
}

export interface BusTopology {
  names: BusTopologyNames;
  exchanges: readonly ExchangeSpec[];
  queues: readonly QueueSpec[];
  bindings: readonly BindingSpec[];
}

export interface BusTopologyOptions {
  /**
   * Deliveries of one intake or control message before the broker dead-letters it, so a message
   * that crashes its consumer cannot loop forever. Default 5.
   */
  deliveryLimit?: number;
}

export const DEFAULT_DELIVERY_LIMIT = 5;

/** Derives every name from one root: `automat` gives `automat.trials`, `automat.dlx`, … */
export function busTopologyNames(root: string): BusTopologyNames {
  return {
    exchange: root,
    intakeQueue: `${root}.trials`,
    deadLetterExchange: `${root}.dlx`,
    deadLetterQueue: `${root}.trials.dead`,
    controlQueue: `${root}.control`,
  };
}

export const DEFAULT_BUS_NAMES: BusTopologyNames = busTopologyNames('automat');

export function busTopology(
  names: BusTopologyNames = DEFAULT_BUS_NAMES,
  options: BusTopologyOptions = {},
): BusTopology {
  const deliveryLimit = options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  // Dead-lettering from a quorum queue defaults to at-most-once: if the dead queue cannot take the
  // message when the broker gives up on it, the message is dropped. On one node that only happens
  // when the dead queue is missing, which asserting this topology prevents.
  const consumed = {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': names.deadLetterExchange,
    'x-delivery-limit': deliveryLimit,
  };
  return {
    names,
    exchanges: [
      exchange(names.exchange, 'topic'),
      // Fanout, so dead letters reach the dead queue whatever routing key they carried.
      exchange(names.deadLetterExchange, 'fanout'),
    ],
    queues: [
      queue(names.intakeQueue, consumed),
      queue(names.controlQueue, consumed),
      queue(names.deadLetterQueue, { 'x-queue-type': 'quorum' }),
    ],
    bindings: [
      { source: names.deadLetterExchange, destination: names.deadLetterQueue, routingKey: '' },
    ],
  };
}

function exchange(name: string, type: ExchangeSpec['type']): ExchangeSpec {
  return { name, type, durable: true, autoDelete: false, internal: false, arguments: {} };
}

function queue(name: string, args: QueueSpec['arguments']): QueueSpec {
  return { name, durable: true, autoDelete: false, arguments: args };
}
