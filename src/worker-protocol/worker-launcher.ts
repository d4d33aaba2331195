import { spawn, type ChildProcess } from 'node:child_process';
import { systemClock, type Clock } from '../clock/clock.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger, LogLevel } from '../log/logger.js';
import { distEntry } from '../runtime/dist-path.js';
import { CHANNEL_KEY_ENV } from './channel-keys.js';
import { TailBuffer } from './tail-buffer.js';
import { formatWorkerArgs } from './worker-args.js';
import { classifyExit, type WorkerExit } from './worker-exit.js';

export interface WorkerLaunchOptions {
  trialId: string;
  attempt: number;
  /** The executor's bound endpoints, from `TrialChannel`. */
  controlEndpoint: string;
  heartbeatEndpoint: string;
  logger: Logger;
  /** Script run by `process.execPath`. Default the compiled reference training worker. */
  entry?: string;
  /** Passed as `--max-old-space-size`; the V8 heap only, not WebAssembly memory. No default. */
  maxOldSpaceSizeMb?: number;
  /** Bytes of stderr kept for the exit report. Default 16 KiB. */
  stderrTailBytes?: number;
  /** The worker's own log level; its logs go to its stderr. Default `warn`. */
  logLevel?: LogLevel;
  /** Fail the worker when no `control.train` arrives in time. Default 120 000 ms. */
  trainTimeoutMs?: number;
  /** Environment of the worker. Default this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** The channel's CURVE key (`TrialChannel.workerKey`), handed over in the environment. */
  channelKey?: string;
  /** Working directory of the worker. Default this process's. */
  cwd?: string;
  /** Drives the grace period of `terminate()`. Default the system clock. */
  clock?: Clock;
}

/** A running worker process. */
export interface WorkerProcess {
  readonly pid: number;
  /** Settles once, when the process has exited and its stderr is drained; never rejects. */
  readonly exited: Promise<WorkerExit>;
  /** Sends `signal` (default SIGTERM); false when the process had already exited. */
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs` (default 5 000 ms). */
  terminate(graceMs?: number): Promise<WorkerExit>;
}

/**
 * Starts one worker as its own OS process: `node [--max-old-space-size=N] <entry> <args>`, an
 * argument array and never a shell. The worker's stdin stays open as a lifeline: when this
 * process dies, the worker sees stdin close and exits instead of training for nobody.
 * Rejects with AUTOMAT_E_WORKER_START_FAILED when the process cannot be spawned.
 */
export async function launchWorker(options: WorkerLaunchOptions): Promise<WorkerProcess> {
  const entry = options.entry ?? distEntry('src/training-worker/main');
  const nodeArgs =
    options.maxOldSpaceSizeMb === undefined
      ? []
      : [`--max-old-space-size=${options.maxOldSpaceSizeMb}`];
  const workerArgs = formatWorkerArgs({
    controlEndpoint: options.controlEndpoint,
    heartbeatEndpoint: options.heartbeatEndpoint,
    trialId: options.trialId,
    attempt: options.attempt,
    logLevel: options.logLevel ?? 'warn',
    trainTimeoutMs: options.trainTimeoutMs ?? 120_000,
    exitWithParent: true,
  });
  const child = spawn(process.execPath, [...nodeArgs, entry, ...workerArgs], {
    shell: false,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: {
      ...(options.env ?? process.env),
      ...(options.channelKey ? { [CHANNEL_KEY_ENV]: options.channelKey } : {}),
    },
    cwd: options.cwd,
  });
  await spawned(child, entry);
  return watch(child, options, entry);
}

function spawned(child: ChildProcess, entry: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      child.off('spawn', onSpawn);
      const message = `cannot start worker ${entry}: ${error.message}`;
      reject(new AutomatError(ErrorCodes.WORKER_START_FAILED, message, { cause: error }));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

function watch(child: ChildProcess, options: WorkerLaunchOptions, entry: string): WorkerProcess {
  const pid = child.pid;
  if (pid === undefined) {
    throw new AutomatError(ErrorCodes.WORKER_START_FAILED, 'the spawned worker has no pid');
  }
  const log = options.logger.child({ trialId: options.trialId, attempt: options.attempt, pid });
  const clock = options.clock ?? systemClock;
  const tail = new TailBuffer(options.stderrTailBytes ?? 16 * 1024);
  child.stderr?.on('data', (chunk: Buffer) => tail.write(chunk));
  // A worker that exits closes its end of the lifeline; writing to it then is not our failure.
  child.stdin?.on('error', () => undefined);
  child.on('error', (error) => log.warn('worker process error', { error: error.message }));

  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('close', (code, signal) => {
      const stderrTail = tail.text();
      const classification = classifyExit(code, signal, stderrTail);
      const report = { code, signal, classification, stderrTail };
      if (classification === 'clean') log.info('worker exited', { code, classification });
      else log.warn('worker exited', { code, signal, classification });
      resolve(report);
    });
  });
  log.info('worker started', { entry });

  const kill = (signal: NodeJS.Signals = 'SIGTERM'): boolean => {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    return child.kill(signal);
  };
  const terminate = async (graceMs = 5_000): Promise<WorkerExit> => {
    kill('SIGTERM');
    const cancelTimer = clock.setTimer(graceMs, () => {
      if (kill('SIGKILL')) log.warn('worker ignored SIGTERM; killed', { graceMs });
    });
    try {
      return await exited;
    } finally {
      cancelTimer();
    }
  };
  return { pid, exited, kill, terminate };
}
