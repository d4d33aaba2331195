import { AmqpBus } from '../../src/bus/amqp-bus.js';
import { systemClock } from '../../src/clock/clock.js';
import { ControlConsumer, controlBusNames } from '../../src/executor/control-consumer.js';
import { silentLogger } from '../../src/log/logger.js';
import { AMQP_URL, type ExecutorHarness } from './executor-harness.js';

/** A harness's control queue, served as `automat0 serve` serves it, and a planner beside it. */
export interface ControlQueue {
  /** A planner's connection: submit() sends a command; subscribe to the answers and events. */
  planner: AmqpBus;
  close(): Promise<void>;
}

export async function startControlQueue(h: ExecutorHarness): Promise<ControlQueue> {
  const names = controlBusNames(h.names);
  const executorSide = await AmqpBus.connect({ url: AMQP_URL, names, logger: silentLogger });
  await new ControlConsumer({
    bus: executorSide,
    executor: h.executor,
    store: h.store,
    clock: systemClock,
    logger: silentLogger,
  }).start();
  const planner = await AmqpBus.connect({ url: AMQP_URL, names, logger: silentLogger });
  return {
    planner,
    close: async () => {
      await planner.close();
      await executorSide.close();
    },
  };
}
