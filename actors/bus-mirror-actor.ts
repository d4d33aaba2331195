import { spawn, type Ref } from 'nact';
import { contracts } from '../src/contracts/index.js';
import { serializeError } from '../src/errors/index.js';
import type { Logger } from '../src/log/logger.js';
import type { Bus } from '../src/bus/bus.js';
import type { TrialStore } from '../src/store/trial-store.js';

export type BusMirrorMessage =
  | { type: 'mirror.publish'; routingKey: string; message: Record<string, unknown> }
  | { type: 'mirror.flush'; done: () => void };

export interface BusMirrorDeps {
  bus: Bus;
  store: TrialStore;
  logger: Logger;
}

/**
 * Mirrors every heartbeat and lifecycle event: first into the store (by trial and `seq`), then
 * onto the topic exchange with a publisher confirm. One mailbox keeps each trial's messages in
 * `seq` order on the bus.
 *
 * A failed write or publish is logged and the next message goes on: a broker outage loses the
 * bus copy but not the stored one. Replaying unpublished rows is the outbox's job (issue 6).
 */
export function spawnBusMirror(parent: Ref<unknown>, deps: BusMirrorDeps): Ref<BusMirrorMessage> {
  return spawn(
    parent,
    async (state: null, msg: BusMirrorMessage) => {
      if (msg.type === 'mirror.flush') {
        msg.done();
        return state;
      }
      await mirror(deps, msg.routingKey, msg.message);
      return state;
    },
    'bus-mirror',
    { initialState: null },
  );
}

async function mirror(deps: BusMirrorDeps, routingKey: string, message: Record<string, unknown>) {
  const { logger } = deps;
  const valid = isHeartbeatKey(routingKey)
    ? contracts.heartbeat.is(message)
    : contracts.trialEvent.is(message);
  if (!valid) {
    logger.error('outgoing bus message breaks its contract', { routingKey, type: message.type });
  }
  const trialId = String(message.trial_id);
  const seq = Number(message.seq);
  try {
    await deps.store.recordMessage({
      trialId,
      seq,
      type: String(message.type),
      payload: message,
      recordedAt: String(message.ts ?? new Date().toISOString()),
    });
  } catch (error) {
    logger.error('bus message not stored', { trialId, seq, error: serializeError(error) });
  }
  try {
    await deps.bus.publish(routingKey, message);
  } catch (error) {
    logger.error('bus message not published', {
      trialId,
      seq,
      routingKey,
      error: serializeError(error),
    });
  }
}

function isHeartbeatKey(routingKey: string): boolean {
  return routingKey.startsWith('automat.heartbeats.');
}
