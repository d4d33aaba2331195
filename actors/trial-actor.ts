import { dispatch, spawn, type Ref } from 'nact';
import { serializeError } from '../src/errors/index.js';
import type { ResolvedTrial } from '../src/trial/resolve-trial-spec.js';
import type { TrialOutcome } from '../src/trial/trial-outcome.js';
import type { TrialMessage, TrialRunDeps } from '../src/trial/trial-ports.js';
import { TrialRun } from '../src/trial/trial-run.js';
import type { BusMirrorMessage } from './bus-mirror-actor.js';
import type { IngestSupervisorMessage } from './ingest-supervisor.js';

/** What a TrialActor needs besides the refs of its peers. */
export type TrialActorDeps = Omit<TrialRunDeps, 'mirror' | 'requestIngest' | 'post'> & {
  busMirror: Ref<BusMirrorMessage>;
  ingestSupervisor: Ref<IngestSupervisorMessage>;
};

/**
 * One actor per trial. Its mailbox serialises everything that happens to the trial — supervisor
 * commands, ingest answers, heartbeats, worker exits, timers — and hands each to its TrialRun.
 * If a handler throws, the actor aborts the run (the worker is killed, the trial fails) and
 * stops; its parent hears of it through the outcome, never through an exception.
 */
export function spawnTrialActor(
  parent: Ref<unknown>,
  trial: ResolvedTrial,
  deps: TrialActorDeps,
  onFinished: (outcome: TrialOutcome) => void,
): Ref<TrialMessage> {
  const trialId = trial.spec.trial_id;
  // The run needs the actor's ref and the actor needs the run: the ref is filled in below.
  const mailbox: { self?: Ref<TrialMessage> } = {};
  const post = (message: TrialMessage) => {
    if (mailbox.self) dispatch(mailbox.self, message);
  };
  const { busMirror, ingestSupervisor, ...rest } = deps;
  const run = new TrialRun(
    trial,
    {
      ...rest,
      post,
      mirror: (routingKey, message) =>
        dispatch(busMirror, { type: 'mirror.publish', routingKey, message }),
      requestIngest: (request) =>
        dispatch(ingestSupervisor, {
          type: 'ingest.requested',
          trialId,
          request,
          replyTo: mailbox.self as Ref<TrialMessage>,
        }),
    },
    onFinished,
  );

  mailbox.self = spawn(
    parent,
    async (state: null, message: TrialMessage) => {
      await run.handle(message);
      return state;
    },
    `trial-${trialId}`,
    {
      initialState: null,
      onCrash: (message, error, ctx) => {
        deps.logger.error('trial actor crashed', {
          trialId,
          message: message?.type,
          error: serializeError(error),
        });
        void run.abort(error);
        return ctx.stop;
      },
    },
  );
  return mailbox.self;
}
