import { AmqpBus } from '../../bus/amqp-bus.js';
import { loadConfig } from '../../config/config.js';
import { ControlConsumer, controlBusNames } from '../../executor/control-consumer.js';
import { Executor } from '../../executor/executor.js';
import { IntakeConsumer } from '../../executor/intake-consumer.js';
import { createServerRuntime, executorOptions } from '../../executor/runtime.js';
import { TrialRecovery } from '../../executor/trial-recovery.js';
import { HealthServer } from '../../health/health-server.js';
import { createLogger } from '../../log/logger.js';
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
 * their epoch, the mirror drains, connections close).
 */
export async function serveCommand(options: ServeOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'info' });
  const concurrency = config.concurrency ?? profileConcurrency(options.profile);
  const runtime = await createServerRuntime(config, logger);
  const executor = new Executor(runtime, executorOptions(config, concurrency));
  const intake = new IntakeConsumer({
    bus: runtime.bus,
    store: executor.store,
    executor,
    clock: runtime.clock,
    logger,
    inputPolicy: createInputPolicy(config.inputRoots, config.inputSchemes),
  });
  const recovery = new TrialRecovery({
    executor,
    clock: runtime.clock,
    logger,
    scanMs: Math.max(1_000, Math.round(config.leaseTtlMs / 2)),
    onTrialEnded: () => void intake.reconcile(),
  });
  // Trials left by a crash come first; the intake then pauses if they fill every slot.
  await recovery.start();
  await intake.start();
  // A second connection whose intake is the control queue; see controlBusNames.
  const controlBus = await AmqpBus.connect({
    url: config.amqpUrl,
    names: controlBusNames(config.busNames),
    logger,
    connectionName: 'automat0-control',
  });
  const control = new ControlConsumer({
    bus: controlBus,
    executor,
    store: runtime.store,
    clock: runtime.clock,
    logger,
  });
  await control.start();
  const stopWatchingControl = controlBus.onHealthChange((health) =>
    executor.health.report(
      'bus',
      'control connection',
      health.status === 'connected' ? undefined : `control connection ${health.status}`,
    ),
  );
  const healthServer =
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

function profileConcurrency(name: string): number {
  if (Object.hasOwn(DEVICE_PROFILES, name)) return resolveDeviceProfile(name).concurrency;
  const known = Object.keys(DEVICE_PROFILES).join(', ');
  throw new AutomatError(
    ErrorCodes.CONFIG_INVALID,
    `--profile must be one of ${known}, got ${JSON.stringify(name)}`,
  );
}
