import { dispatch, spawn, type Ref } from 'nact';
import { serializeError } from '../src/errors/index.js';
import type { Logger } from '../src/log/logger.js';
import type { IngestRequest, IngestResult, TrialMessage } from '../src/trial/trial-ports.js';

export type IngestSupervisorMessage = {
  type: 'ingest.requested';
  trialId: string;
  request: IngestRequest;
  replyTo: Ref<TrialMessage>;
};

/** Prepares shards; the implementation owns the thread pool and the shard cache. */
export interface IngestService {
  ingest(request: IngestRequest): Promise<IngestResult>;
  close(): Promise<void>;
}

/**
 * Receives ingest requests from TrialActors and answers each with `ingest.completed` or
 * `ingest.failed`. Requests run concurrently (the service shares one build between trials that
 * ask for the same shards); a failure is an answer, never a crash of this actor.
 */
export function spawnIngestSupervisor(
  parent: Ref<unknown>,
  service: IngestService,
  logger: Logger,
): Ref<IngestSupervisorMessage> {
  return spawn(
    parent,
    (state: null, msg: IngestSupervisorMessage) => {
      const started = Date.now();
      service.ingest(msg.request).then(
        (result) => {
          logger.info('ingest finished', {
            trialId: msg.trialId,
            cacheHit: result.cacheHit,
            ms: Date.now() - started,
          });
          dispatch(msg.replyTo, { type: 'ingest.completed', result });
        },
        (error: unknown) => {
          logger.warn('ingest failed', { trialId: msg.trialId, error: serializeError(error) });
          dispatch(msg.replyTo, { type: 'ingest.failed', error: serializeError(error) });
        },
      );
      return state;
    },
    'ingest-supervisor',
    { initialState: null },
  );
}
