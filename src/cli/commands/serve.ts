import { AmqpBus } from '../../bus/amqp-bus.js';
import { loadConfig } from '../../config/config.js';
import { ControlConsumer, controlBusNames } from '../../executor/control-consumer.js';
import { Executor, type ExecutorRuntime } from '../../executor/executor.js';
import { IntakeConsumer } from '../../executor/intake-consumer.js';
import { createServerRuntime, executorOptions } from '../../executor/runtime.js';
import { TrialRecovery } from '../../executor/trial-recovery.js';
import { HealthServer } from '../../health/health-server.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { DEVICE_PROFILES, resolveDeviceProfile } from '../../policy/device-profiles.js';
import { AutomatError, ErrorCodes } from '../../errors/index.js';
import { createInputPolicy } from '../../policy/input-policy.js';

export interface ServeOptions {
  /** The device profile this executor runs trials on; sets the default concurrency. */
  profile: string;
}

/**
 * `automat0 serve`: consumes the intake queue, and planner commands from the control queue,
 * until SIGINT or SIGTERM, then shuts down in phases (commands stop, running trials stop after
 * their epoch and are handed over unended, their leases released; the mirror drains,
 * connections close).
 */
export async function serveCommand(options: ServeOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'info' });
  const concurrency = config.concurrency ?? profileConcurrency(options.profile);
  // Checked before anything connects: a bad setting must end the start, not leave it hanging.
  const inputPolicy = createInputPolicy(config.inputRoots, config.inputSchemes);
  const runtime = await createServerRuntime(config, logger);
  // Other executors on the queue, or this one restarted, go on with its trials after a stop.
  const executor = new Executor(runtime, executorOptions(config, concurrency, 'hand_over'));
  const intake = new IntakeConsumer({
    bus: runtime.bus,
    store: executor.store,
    executor,
    clock: runtime.clock,
    logger,
    inputPolicy,
  });
  const recovery = new TrialRecovery({
    executor,
    clock: runtime.clock,
    logger,
    scanMs: Math.max(1_000, Math.round(config.leaseTtlMs / 2)),
    onTrialEnded: () => void intake.reconcile(),
  });
  let controlBus: AmqpBus | undefined;
  let stopWatchingControl = (): void => undefined;
  let healthServer: HealthServer | undefined;
  try {
    // First, so that a port already taken stops the start before any spec is consumed.
    healthServer =
      config.healthPort === undefined
        ? undefined
        : await HealthServer.start({
            port: config.healthPort,
            logger,
            snapshot: () => ({
              ...executor.health.snapshot(),
              executor: executor.id,
              trials: executor.trialIds,
            }),
          });
    // Trials left by a crash come first; the intake then pauses if they fill every slot.
    await recovery.start();
    await intake.start();
    // A second connection whose intake is the control queue; see controlBusNames.
    controlBus = await AmqpBus.connect({
      url: config.amqpUrl,
      names: controlBusNames(config.busNames),
      logger,
      connectionName: 'automat0-control',
    });
    stopWatchingControl = await startControl(controlBus, executor, runtime, {
      logger,
      pendingCancelTtlMs: config.pendingCancelTtlMs,
    });
  } catch (error) {
    // A start that fails half-way (the health port taken, the broker gone) must not leave the
    // process consuming with nobody to stop it: undo what started, then report.
    recovery.stop();
    stopWatchingControl();
    await controlBus?.close().catch(() => undefined);
    await executor.close().catch(() => undefined);
    await healthServer?.close().catch(() => undefined);
    throw error;
  }
  logger.info('serving', {
    executor: executor.id,
    queue: config.busNames.intakeQueue,
    controlQueue: config.busNames.controlQueue,
    concurrency,
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutdown requested', { signal });
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  recovery.stop();
  stopWatchingControl();
  await controlBus.close();
  await executor.close();
  await healthServer?.close();
  return 0;
}

/** Starts the planner-command consumer; returns what stops its health reports. */
async function startControl(
  controlBus: AmqpBus,
  executor: Executor,
  runtime: ExecutorRuntime,
  options: { logger: Logger; pendingCancelTtlMs: number },
): Promise<() => void> {
  const { logger, pendingCancelTtlMs } = options;
  const control = new ControlConsumer({
    bus: controlBus,
    executor,
    store: runtime.store,
    clock: runtime.clock,
    logger,
    pendingCancelTtlMs,
  });
  await control.start();
  return controlBus.onHealthChange((health) =>
    executor.health.report(
      'bus',
      'control connection',
      health.status === 'connected' ? undefined : `control connection ${health.status}`,
    ),
  );
}

function profileConcurrency(name: string): number {
  if (Object.hasOwn(DEVICE_PROFILES, name)) return resolveDeviceProfile(name).concurrency;
  const known = Object.keys(DEVICE_PROFILES).join(', ');
  throw new AutomatError(
    ErrorCodes.CONFIG_INVALID,
    `--profile must be one of ${known}, got ${JSON.stringify(name)}`,
  );
}
