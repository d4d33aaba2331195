import { start, stop, type Ref } from 'nact';
import type { Logger } from '../src/log/logger.js';
import { spawnBusMirror, type BusMirrorDeps, type BusMirrorMessage } from './bus-mirror-actor.js';
import {
  spawnIngestSupervisor,
  type IngestService,
  type IngestSupervisorMessage,
} from './ingest-supervisor.js';
import type { TrialActorDeps } from './trial-actor.js';
import { spawnTrialSupervisor, type TrialSupervisorMessage } from './trial-supervisor.js';

export interface ActorTreeOptions {
  concurrency: number;
  ingest: IngestService;
  mirror: BusMirrorDeps;
  trial: Omit<TrialActorDeps, 'busMirror' | 'ingestSupervisor'>;
  logger: Logger;
}

export interface ActorTree {
  trialSupervisor: Ref<TrialSupervisorMessage>;
  ingestSupervisor: Ref<IngestSupervisorMessage>;
  busMirror: Ref<BusMirrorMessage>;
  /** Stops every actor. Trials should have finished first (see Executor.close). */
  stop(): void;
}

/**
 * The supervision tree:
 *
 * ```
 * automat0 (system)
 * ├── ingest-supervisor      shards for every trial (thread pool + cache)
 * ├── bus-mirror             the outbox: store, publish, mark every heartbeat and event
 * └── trial-supervisor       admission and concurrency
 *     └── trial-<id> …       one TrialActor per trial
 * ```
 */
export function startActorTree(options: ActorTreeOptions): ActorTree {
  const system = start();
  const ingestSupervisor = spawnIngestSupervisor(system, options.ingest, options.logger);
  const mirror = spawnBusMirror(system, options.mirror);
  const busMirror = mirror.ref;
  const trialSupervisor = spawnTrialSupervisor(system, {
    concurrency: options.concurrency,
    deps: { ...options.trial, busMirror, ingestSupervisor },
    logger: options.logger,
  });
  return {
    trialSupervisor,
    ingestSupervisor,
    busMirror,
    stop: () => {
      mirror.stop();
      stop(system);
    },
  };
}
