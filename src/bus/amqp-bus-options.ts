import { systemClock, type Clock } from '../clock/clock.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_BUS_NAMES, type BusTopologyNames } from './bus-topology.js';
import type { BackoffPolicy } from './reconnect-backoff.js';

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
  /**
   * Milliseconds before the first attempt to reconnect after the broker dropped the connection;
   * each failed attempt doubles it. Default 250.
   */
  reconnectInitialDelayMs?: number;
  /** Milliseconds the delay between reconnection attempts grows to at most. Default 10000. */
  reconnectMaxDelayMs?: number;
  /**
   * Share of each reconnection delay, 0 to 1, drawn at random and taken off, so that executors
   * cut off by the same broker restart do not come back in step. Default 0.2.
   */
  reconnectJitter?: number;
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
  reconnect: BackoffPolicy;
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
    reconnect: resolveBackoff(options),
    clock: options.clock ?? systemClock,
  };
}

function resolveBackoff(options: AmqpBusOptions): BackoffPolicy {
  const initialDelayMs = positive(
    'bus.reconnectInitialDelayMs',
    options.reconnectInitialDelayMs ?? 250,
  );
  const maxDelayMs = positive('bus.reconnectMaxDelayMs', options.reconnectMaxDelayMs ?? 10_000);
  if (maxDelayMs < initialDelayMs) {
    throw configError(
      `bus.reconnectMaxDelayMs must be at least bus.reconnectInitialDelayMs (${initialDelayMs}), ` +
        `got ${maxDelayMs}`,
    );
  }
  const jitter = options.reconnectJitter ?? 0.2;
  if (!(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1)) {
    throw configError(`bus.reconnectJitter must be a number from 0 to 1, got ${jitter}`);
  }
  return { initialDelayMs, maxDelayMs, jitter };
}

function positive(field: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw configError(`${field} must be a positive number of milliseconds, got ${value}`);
}

function configError(message: string): AutomatError {
  return new AutomatError(ErrorCodes.CONFIG_INVALID, message);
}
