import { serializeError } from '../errors/index.js';
import type { Logger, LogLevel } from '../log/logger.js';
import type { WorkerLauncher, WorkerSession } from '../trial/trial-ports.js';
import {
  DEFAULT_PROGRESS_INTERVAL_MS,
  PROGRESS_INTERVAL_ENV,
} from '../training-worker/progress-beat.js';
import { launchWorker, TrialChannel } from '../worker-protocol/index.js';

export interface ZmqWorkerLauncherOptions {
  logger: Logger;
  /** The worker's own log level (its stderr). Default `warn`. */
  workerLogLevel?: LogLevel;
  /** Script the worker process runs. Default the compiled reference training worker. */
  entry?: string;
  /** Milliseconds between the worker's `heartbeat.progress` beats. Default 2 000. */
  progressIntervalMs?: number;
}

/**
 * Launches one worker process per attempt over its own ZeroMQ channel, and turns the channel's
 * heartbeat stream and the process exit into the callbacks a TrialRun expects.
 */
export class ZmqWorkerLauncher implements WorkerLauncher {
  constructor(private readonly options: ZmqWorkerLauncherOptions) {}

  async launch(options: Parameters<WorkerLauncher['launch']>[0]): Promise<WorkerSession> {
    const logger = this.options.logger.child({
      trialId: options.trialId,
      attempt: options.attempt,
    });
    const channel = await TrialChannel.open({
      trialId: options.trialId,
      attempt: options.attempt,
      logger,
    });
    let worker;
    try {
      worker = await launchWorker({
        trialId: options.trialId,
        attempt: options.attempt,
        controlEndpoint: channel.controlEndpoint,
        heartbeatEndpoint: channel.heartbeatEndpoint,
        ...(channel.workerKey ? { channelKey: channel.workerKey } : {}),
        maxOldSpaceSizeMb: options.maxOldSpaceMiB,
        logger,
        logLevel: this.options.workerLogLevel ?? 'warn',
        ...(this.options.entry ? { entry: this.options.entry } : {}),
        env: this.#workerEnv(),
      });
    } catch (error) {
      await channel.close('worker did not start');
      throw error;
    }
    logger.info('worker launched', { pid: worker.pid });

    const pump = (async () => {
      for await (const heartbeat of channel.heartbeats()) options.onHeartbeat(heartbeat);
    })().catch((error: unknown) =>
      logger.error('heartbeat stream broke', { error: serializeError(error) }),
    );
    // The exit is reported after the heartbeats already received, so `final` comes first.
    void worker.exited.then(async (exit) => {
      if (exit.classification !== 'clean') {
        // The worker's own account of what went wrong is in its stderr; keep its last lines.
        const stderr = exit.stderrTail.trim().split('\n').slice(-8).join('\n');
        logger.warn('worker exited abnormally', {
          code: exit.code,
          signal: exit.signal,
          classification: exit.classification,
          stderr,
        });
      }
      await channel.close('worker exited');
      await pump;
      options.onExit(exit);
    });

    return {
      pid: worker.pid,
      send: async (message) => {
        await channel.send(message);
      },
      kill: (signal) => {
        worker.kill(signal);
      },
      close: () => channel.close('closed by the trial'),
    };
  }

  /** This process's environment, plus the progress-beat interval the liveness watchdog needs. */
  #workerEnv(): NodeJS.ProcessEnv {
    const interval = this.options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    return { ...process.env, [PROGRESS_INTERVAL_ENV]: String(interval) };
  }
}
