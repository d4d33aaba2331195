import type { Bus, IntakeDelivery } from '../bus/bus.js';
import type { Clock } from '../clock/clock.js';
import { contracts, type DuplicateSpec } from '../contracts/index.js';
import { AutomatError, ErrorCodes, serializeError, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { checkInputLocations, type InputPolicy } from '../policy/input-policy.js';
import type { TrialRecord, TrialStore } from '../store/trial-store.js';
import { resolveTrialSpec, type ResolvedTrial } from '../trial/resolve-trial-spec.js';
import { answerKey } from './control-consumer.js';
import type { Executor } from './executor.js';
import { cancelOnArrival } from './pending-cancel.js';

export interface IntakeConsumerOptions {
  bus: Bus;
  store: TrialStore;
  executor: Executor;
  clock: Clock;
  logger: Logger;
  /**
   * TrialSpecs the broker may hand over before they are settled. Default 1, with which the
   * executor never takes more specs than it has free slots. With more, up to `prefetch − 1`
   * specs already on their way when the last slot fills are accepted too and wait, recorded as
   * `queued`, inside the executor.
   */
  prefetch?: number;
  /** Where specs may point (see src/policy/input-policy.ts). */
  inputPolicy: InputPolicy;
  /** Largest TrialSpec accepted, in bytes. Default 256 KiB. */
  maxSpecBytes?: number;
}

/**
 * Takes TrialSpecs from the intake queue, only as many as the executor has free slots. A spec
 * is validated at this edge; a bad one goes to the dead-letter queue with the reason and the
 * field. A good one is recorded in the store, handed to the executor, and only then
 * acknowledged. A trial a planner cancelled before its spec arrived (a pending cancel in the
 * store) is recorded all the same and ends cancelled at once, without ingest or a worker.
 *
 * Backpressure: when a spec takes the last free slot, the consumer is paused (`basic.cancel`)
 * before that spec is acknowledged, so with prefetch 1 the broker cannot deliver another; the
 * rest wait in RabbitMQ as queue depth. When a trial finishes, the consumer resumes. Specs are
 * acknowledged when accepted, not when their trial ends: holding a delivery for a whole trial
 * would run into RabbitMQ's consumer_timeout (30 minutes by default), which closes the channel.
 */
export class IntakeConsumer {
  readonly #prefetch: number;
  #flow: Promise<void> = Promise.resolve();
  #paused = false;

  constructor(private readonly options: IntakeConsumerOptions) {
    this.#prefetch = options.prefetch ?? 1;
  }

  async start(): Promise<void> {
    await this.options.bus.consumeIntake((delivery) => this.#handle(delivery), {
      prefetch: this.#prefetch,
    });
    await this.#reconcile();
  }

  /** Size, schema, cross-field rules, then where the spec points; throws naming the field. */
  #parse(body: Buffer): ResolvedTrial {
    const limit = this.options.maxSpecBytes ?? 256 * 1024;
    if (body.length > limit) {
      throw new ValidationError('trial', [
        `trial must be at most ${limit} bytes of JSON, got ${body.length} bytes`,
      ]);
    }
    const trial = resolveTrialSpec(contracts.trialSpec.parseJson(body));
    checkInputLocations(trial.spec, this.options.inputPolicy);
    return trial;
  }

  async #handle(delivery: IntakeDelivery): Promise<void> {
    const { logger, store, clock, executor } = this.options;
    if (!executor.load.accepting) {
      // Thrown, so the bus puts the spec back for another executor.
      throw new AutomatError(ErrorCodes.CANCELLED, 'the executor is shutting down');
    }
    let trial: ResolvedTrial;
    try {
      trial = this.#parse(delivery.body);
    } catch (error) {
      return this.#reject(delivery, error);
    }

    const trialId = trial.spec.trial_id;
    const at = new Date(clock.now()).toISOString();
    const { created } = await store.createTrial(trial.spec, at, executor.leases.lease());
    if (!created) return this.#duplicate(delivery, trial);
    // Looked up only now that the trial is stored; see PendingCancelStore. Should the store fail
    // here, the spec goes back to the queue and comes back as a duplicate; crash recovery takes
    // the stored trial over once its lease lapses, and looks for the cancel again.
    const cancelReason = await cancelOnArrival(store, trialId, at);
    logger.info('trial accepted', {
      trialId,
      taskType: trial.spec.task_type,
      ...(cancelReason === undefined ? {} : { cancelledOnArrival: cancelReason }),
    });
    this.#run(trial, cancelReason);
    await this.#reconcile();
    delivery.ack();
  }

  #run(trial: ResolvedTrial, cancelReason: string | undefined): void {
    const { logger, executor } = this.options;
    const trialId = trial.spec.trial_id;
    void executor
      .submit(trial, cancelReason === undefined ? {} : { cancelReason })
      .then(
        (outcome) => logger.info('trial outcome', { ...outcome }),
        (error: unknown) =>
          logger.error('trial ended abnormally', { trialId, error: serializeError(error) }),
      )
      .finally(() => void this.#reconcile());
  }

  /**
   * Pauses the intake when every slot is taken, resumes it when one is free; serialised. Call it
   * when a trial this consumer did not start (a taken-over one) ends.
   */
  reconcile(): Promise<void> {
    return this.#reconcile();
  }

  #reconcile(): Promise<void> {
    this.#flow = this.#flow
      .then(() => this.#applyFlow())
      .catch((error: unknown) =>
        this.options.logger.error('intake flow control failed', { error: serializeError(error) }),
      );
    return this.#flow;
  }

  async #applyFlow(): Promise<void> {
    const { active, concurrency, accepting } = this.options.executor.load;
    const full = !accepting || active >= concurrency;
    if (full && !this.#paused) {
      await this.options.bus.pauseIntake();
      this.#paused = true;
      this.options.logger.info('intake paused: no free trial slot', { active, concurrency });
    } else if (!full && this.#paused) {
      await this.options.bus.resumeIntake();
      this.#paused = false;
      this.options.logger.info('intake resumed', { active, concurrency });
    }
  }

  /**
   * The same spec again (a redelivery, or a planner retrying a publish) is acknowledged once
   * more and starts nothing. A different spec under a trial_id already taken is refused to the
   * dead-letter queue, so the planner learns of the clash instead of losing its trial.
   */
  async #duplicate(delivery: IntakeDelivery, trial: ResolvedTrial): Promise<void> {
    const trialId = trial.spec.trial_id;
    const existing = await this.options.store.getTrial(trialId);
    if (existing && canonical(existing.spec) === canonical(trial.spec)) {
      delivery.ack();
      this.options.logger.warn('duplicate trial spec ignored', {
        trialId,
        redelivered: delivery.redelivered,
      });
      return this.#announceDuplicate(existing, delivery.redelivered);
    }
    return this.#reject(
      delivery,
      new ValidationError('trial.trial_id', [
        `trial.trial_id ${JSON.stringify(trialId)} already names a different trial; ` +
          'use a new trial_id',
      ]),
    );
  }

  /** Tells the planner, on the trial's answers key; a failure to say so is only logged. */
  async #announceDuplicate(existing: TrialRecord, redelivered: boolean): Promise<void> {
    const { bus, clock, logger } = this.options;
    const notice: DuplicateSpec = {
      type: 'intake.duplicate_spec',
      trial_id: existing.trialId,
      redelivered,
      state: existing.state,
      owner: existing.owner,
      message: `trial ${existing.trialId} already exists (${existing.state}); nothing new started`,
      ts: new Date(clock.now()).toISOString(),
    };
    await bus.publish(answerKey(existing.trialId), notice).catch((error: unknown) =>
      logger.warn('duplicate notice not published', {
        trialId: existing.trialId,
        error: serializeError(error),
      }),
    );
  }

  async #reject(delivery: IntakeDelivery, error: unknown): Promise<void> {
    const field = error instanceof ValidationError ? error.field : undefined;
    const code = error instanceof AutomatError ? error.code : ErrorCodes.INTERNAL;
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.warn('trial spec rejected', { code, field, reason: message });
    await delivery.deadLetter({ code, message, ...(field ? { field } : {}) });
  }
}

/** JSON with object keys sorted, so that two equal specs compare equal as text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
