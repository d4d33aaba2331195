/**
 * The reference training worker: one OS process per trial attempt, started by `launchWorker`
 * with the executor's ZeroMQ endpoints on its command line. See WorkerSession for the
 * conversation and WorkerExitCode for what the exit status means.
 */
import { createLogger, type Logger } from '../log/logger.js';
import { parseWorkerArgs, type WorkerArgs } from '../worker-protocol/worker-args.js';
import { WorkerEndpoint } from '../worker-protocol/worker-endpoint.js';
import { WorkerExitCode } from '../worker-protocol/worker-exit.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { WorkerSession } from './worker-session.js';

/** Longest the process waits, after its final heartbeat, for ZeroMQ to deliver it. */
const EXIT_LINGER_MS = 5_000;

async function main(argv: readonly string[]): Promise<number> {
  let args: WorkerArgs;
  try {
    args = parseWorkerArgs(argv, process.env);
  } catch (error) {
    createLogger({ level: 'error' }).error('training worker arguments rejected', {
      error: error instanceof Error ? error.message : String(error),
    });
    return WorkerExitCode.usage;
  }
  const logger = createLogger({ level: args.logLevel }).child({
    component: 'training-worker',
    trialId: args.trialId,
    attempt: args.attempt,
  });
  const lifeline = new AbortController();
  if (args.exitWithParent) watchParent(lifeline, logger);
  // Ctrl-C in a terminal reaches the whole process group, this worker too; its executor decides
  // what happens to the trial (cancel after the epoch, or hand over), so leave it to that.
  process.on('SIGINT', () => logger.debug('SIGINT ignored: the executor stops this worker'));

  const endpoint = WorkerEndpoint.connect({
    controlEndpoint: args.controlEndpoint,
    heartbeatEndpoint: args.heartbeatEndpoint,
    trialId: args.trialId,
    attempt: args.attempt,
    logger,
    lingerMs: EXIT_LINGER_MS,
    ...(args.channelKey ? { channelKey: args.channelKey } : {}),
  });
  try {
    const session = new WorkerSession({ endpoint, logger, trainTimeoutMs: args.trainTimeoutMs });
    return await session.run(lifeline.signal);
  } finally {
    await endpoint.close('training worker finished');
    process.stdin.destroy();
  }
}

/**
 * The launcher keeps our stdin open; it closes only when the executor process is gone. Then
 * nobody will read our heartbeats, so stop training at the next step.
 */
function watchParent(lifeline: AbortController, logger: Logger): void {
  const abort = (): void => {
    if (lifeline.signal.aborted) return;
    logger.warn('executor went away (stdin closed); stopping');
    lifeline.abort(new AutomatError(ErrorCodes.CANCELLED, 'the executor went away (stdin closed)'));
  };
  process.stdin.once('end', abort);
  process.stdin.once('error', abort);
  process.stdin.resume();
}

const exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  createLogger({ level: 'error' }).error('training worker crashed', { error: String(error) });
  return WorkerExitCode.failed;
});
process.exitCode = exitCode;
// Normally the event loop empties once ZeroMQ has delivered the final heartbeat. If a handle
// still holds it open, exit anyway; unref() keeps this timer from holding the loop itself.
setTimeout(() => process.exit(exitCode), EXIT_LINGER_MS + 1_000).unref();
