import { systemClock, type Clock } from '../clock/clock.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_BUS_NAMES, type BusTopologyNames } from './bus-topology.js';

export interface AmqpBusOptions {
  /** Broker URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. The password is never logged. */
  url: string;
  logger: Logger;
  /** Exchange and queue names. Default {@link DEFAULT_BUS_NAMES} (`automat`, `automat.trials`, …). */
  names?: BusTopologyNames;
  /** Deliveries of one intake message before the broker dead-letters it. Default 5. */
  deliveryLimit?: number;
  /** Milliseconds for the TCP connect and AMQP handshake together. Default 5000. */
  connectTimeoutMs?: number;
  /** Milliseconds close() waits for unconfirmed publishes before closing anyway. Default 5000. */
  closeTimeoutMs?: number;
  /** Shown in the management UI, to tell executors apart. Default `automat0`. */
  connectionName?: string;
  /** Default {@link systemClock}. */
  clock?: Clock;
}

export interface ResolvedAmqpBusOptions {
  url: string;
  logger: Logger;
  names: BusTopologyNames;
  deliveryLimit: number | undefined;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  connectionName: string;
  clock: Clock;
}

export function resolveAmqpBusOptions(options: AmqpBusOptions): ResolvedAmqpBusOptions {
  let protocol: string;
  try {
    protocol = new URL(options.url).protocol;
  } catch {
    throw configError('bus.url must be an amqp:// or amqps:// URL');
  }
  if (protocol !== 'amqp:' && protocol !== 'amqps:') {
    throw configError(`bus.url must be an amqp:// or amqps:// URL, got "${protocol}"`);
  }
  return {
    url: options.url,
    logger: options.logger,
    names: options.names ?? DEFAULT_BUS_NAMES,
    deliveryLimit: options.deliveryLimit,
    connectTimeoutMs: positive('bus.connectTimeoutMs', options.connectTimeoutMs ?? 5000),
    closeTimeoutMs: positive('bus.closeTimeoutMs', options.closeTimeoutMs ?? 5000),
    connectionName: options.connectionName ?? 'automat0',
    clock: options.clock ?? systemClock,
  };
}

function positive(field: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw configError(`${field} must be a positive number of milliseconds, got ${value}`);
}

function configError(message: string): AutomatError {
  return new AutomatError(ErrorCodes.CONFIG_INVALID, message);
}
