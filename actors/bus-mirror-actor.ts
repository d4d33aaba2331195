import { dispatch, spawn, type Ref } from 'nact';
import type { Clock } from '../src/clock/clock.js';
import { contracts } from '../src/contracts/index.js';
import type { Logger } from '../src/log/logger.js';
import type { OutboxRelay } from '../src/outbox/outbox-relay.js';

export type BusMirrorMessage =
  | { type: 'mirror.publish'; routingKey: string; message: Record<string, unknown> }
  /** Loads a taken-over trial's stored backlog ahead of its new messages. */
  | { type: 'mirror.adopt'; trialId: string; done: (error?: unknown) => void }
  /** Retries what is waiting; with `replay`, also looks for stored backlogs. */
  | { type: 'mirror.tick'; replay: boolean }
  /** Tries once more to send everything waiting, then calls `done` either way. */
  | { type: 'mirror.flush'; done: () => void };

export interface BusMirrorDeps {
  relay: OutboxRelay;
  clock: Clock;
  logger: Logger;
  /** Between retries of waiting messages. Default 1 s. */
  retryMs?: number;
  /** Between looks for stored backlogs nobody holds. Default 15 s. */
  replayMs?: number;
}

export interface BusMirror {
  ref: Ref<BusMirrorMessage>;
  /** Stops the retry timer. */
  stop(): void;
}

/**
 * Mirrors every heartbeat and lifecycle event through the outbox relay: stored, then published
 * with a confirm, then marked. One mailbox keeps each trial's messages in `seq` order; a timer
 * retries what an outage held back and, less often, replays stored backlogs left by executors
 * that died.
 */
export function spawnBusMirror(parent: Ref<unknown>, deps: BusMirrorDeps): BusMirror {
  const { relay, logger } = deps;
  const ref = spawn(
    parent,
    async (state: null, msg: BusMirrorMessage) => {
      switch (msg.type) {
        case 'mirror.publish':
          checkContract(msg.routingKey, msg.message, logger);
          await relay.send(msg.routingKey, msg.message);
          return state;
        case 'mirror.adopt':
          await relay.adopt(msg.trialId).then(
            () => msg.done(),
            (error: unknown) => msg.done(error),
          );
          return state;
        case 'mirror.tick':
          if (msg.replay) await relay.replayStored();
          if (relay.backlog > 0) await relay.pump();
          return state;
        case 'mirror.flush':
          await relay.pump();
          msg.done();
          return state;
      }
    },
    'bus-mirror',
    { initialState: null },
  );
  return { ref, stop: startTicks(ref, deps) };
}

/** Posts a tick every `retryMs`, with `replay` set every `replayMs`; returns a stop function. */
function startTicks(ref: Ref<BusMirrorMessage>, deps: BusMirrorDeps): () => void {
  const retryMs = deps.retryMs ?? 1_000;
  const replayEvery = Math.max(1, Math.round((deps.replayMs ?? 15_000) / retryMs));
  let ticks = 0;
  let cancel: (() => void) | undefined;
  const schedule = () => {
    cancel = deps.clock.setTimer(retryMs, () => {
      ticks += 1;
      dispatch(ref, { type: 'mirror.tick', replay: ticks % replayEvery === 0 });
      schedule();
    });
  };
  dispatch(ref, { type: 'mirror.tick', replay: true });
  schedule();
  return () => cancel?.();
}

function checkContract(routingKey: string, message: Record<string, unknown>, logger: Logger) {
  const valid = routingKey.startsWith('automat.heartbeats.')
    ? contracts.heartbeat.is(message)
    : contracts.trialEvent.is(message);
  if (!valid) {
    logger.error('outgoing bus message breaks its contract', { routingKey, type: message.type });
  }
}
