import type { Bus, IntakeDelivery } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import { contracts } from '../contracts/index.js';
import { AutomatError, ErrorCodes, serializeError, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import { resolveTrialSpec, type ResolvedTrial } from '../trial/resolve-trial-spec.js';
import type { Executor } from './executor.js';

export interface IntakeConsumerOptions {
  bus: Bus;
  store: TrialStore;
  executor: Executor;
  clock: Clock;
  logger: Logger;
  /** Unacknowledged TrialSpecs the broker may hand this executor at once. */
  prefetch: number;
}

/**
 * Takes TrialSpecs from the intake queue. A spec is validated at this edge; a bad one goes to
 * the dead-letter queue with the reason and the field, and the executor carries on. A good one
 * is recorded in the store before it is acknowledged, then handed to the executor.
 */
export class IntakeConsumer {
  constructor(private readonly options: IntakeConsumerOptions) {}

  start(): Promise<void> {
    return this.options.bus.consumeIntake((delivery) => this.#handle(delivery), {
      prefetch: this.options.prefetch,
    });
  }

  async #handle(delivery: IntakeDelivery): Promise<void> {
    const { logger, store, clock, executor } = this.options;
    let trial: ResolvedTrial;
    try {
      trial = resolveTrialSpec(contracts.trialSpec.parseJson(delivery.body));
    } catch (error) {
      return this.#reject(delivery, error);
    }

    const trialId = trial.spec.trial_id;
    const { created } = await store.createTrial(trial.spec, new Date(clock.now()).toISOString());
    delivery.ack();
    if (!created) {
      logger.warn('duplicate trial_id ignored', { trialId, redelivered: delivery.redelivered });
      return;
    }
    logger.info('trial accepted', { trialId, taskType: trial.spec.task_type });
    executor.submit(trial).then(
      (outcome) => logger.info('trial outcome', { ...outcome }),
      (error: unknown) =>
        logger.error('trial ended abnormally', { trialId, error: serializeError(error) }),
    );
  }

  async #reject(delivery: IntakeDelivery, error: unknown): Promise<void> {
    const field = error instanceof ValidationError ? error.field : undefined;
    const code = error instanceof AutomatError ? error.code : ErrorCodes.INTERNAL;
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.warn('trial spec rejected', { code, field, message });
    await delivery.deadLetter({ code, message, ...(field ? { field } : {}) });
  }
}
