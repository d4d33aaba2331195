import type { Bus, IntakeDelivery } from '../bus/bus.js';
import type { BusTopologyNames } from '../bus/bus-topology.js';
import type { Clock } from '../clock/clock.js';
import {
  contracts,
  type CommandAnswered,
  type PlannerCancel,
  type TrialStateName,
} from '../contracts/index.js';
import { AutomatError, ErrorCodes, serializeError, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import { isTerminal } from '../trial/trial-fsm.js';
import type { Executor } from './executor.js';
import { notReceivedMessage, PENDING_CANCEL_TTL_MS } from './pending-cancel.js';

/** Routing key, on the topic exchange, of the answers to commands about `trialId`. */
export const answerKey = (trialId: string): string => `automat.answers.${trialId}`;
/** Every answer to every command. */
export const ANSWERS_PATTERN = 'automat.answers.#';

/** Commands the broker hands over before earlier ones are answered; they are quick to answer. */
const CONTROL_PREFETCH = 4;

/**
 * The topology names of a bus whose intake queue is the control queue. The Bus port consumes
 * and publishes to one "intake" queue; connecting a second bus with these names gives the same
 * settling, dead-lettering and confirms to planner commands on `automat.control`.
 */
export function controlBusNames(names: BusTopologyNames): BusTopologyNames {
  return { ...names, intakeQueue: names.controlQueue };
}

export interface ControlConsumerOptions {
  /** A bus connected with `controlBusNames`; answers are published on its exchange too. */
  bus: Pick<Bus, 'consumeIntake' | 'publish'>;
  executor: Pick<Executor, 'cancel'>;
  /**
   * Consulted for trials this executor does not run, to tell finished from unknown; holds the
   * cancels of trials not received yet.
   */
  store: Pick<TrialStore, 'getTrial' | 'recordPendingCancel' | 'deletePendingCancel'>;
  clock: Clock;
  logger: Logger;
  /** How long a cancel for a trial not received yet is kept. Default 7 days. */
  pendingCancelTtlMs?: number;
}

/**
 * Takes planner commands from the control queue. A command is validated at this edge; a bad
 * one is dead-lettered with the reason and the field, like a bad TrialSpec. A good one is
 * carried out and answered with `planner.command_answered` on `automat.answers.<trial_id>`,
 * then acknowledged; if the answer cannot be published the command goes back to the queue, and
 * carrying out a cancel twice is harmless. A cancel for a trial already over, or running on
 * another executor, is answered `accepted: false` with the reason: it is not an error.
 *
 * A cancel for a trial nobody has received yet — its spec waits in the intake queue behind busy
 * slots — is recorded in the store as a pending cancel and answered `accepted: true` with
 * `state: null`; whichever executor takes the spec later ends the trial cancelled at once.
 *
 * With several executors on one control queue, a command reaches only one of them, which may
 * not be the one running the trial; that one then answers "not running on this executor". Until
 * commands are fanned out, run one executor per control queue.
 */
export class ControlConsumer {
  constructor(private readonly options: ControlConsumerOptions) {}

  start(): Promise<void> {
    return this.options.bus.consumeIntake((delivery) => this.#handle(delivery), {
      prefetch: CONTROL_PREFETCH,
    });
  }

  async #handle(delivery: IntakeDelivery): Promise<void> {
    let command: PlannerCancel;
    try {
      command = contracts.plannerCommand.parseJson(delivery.body);
    } catch (error) {
      return this.#reject(delivery, error);
    }
    const answer = await this.#cancel(command);
    await this.options.bus.publish(answerKey(command.trial_id), answer);
    delivery.ack();
    this.options.logger.info('planner command answered', {
      command: command.type,
      commandId: answer.command_id,
      trialId: answer.trial_id,
      accepted: answer.accepted,
      message: answer.message,
    });
  }

  async #cancel(command: PlannerCancel): Promise<CommandAnswered> {
    const answer = await this.#cancelKnown(command);
    if (answer.state !== null) return answer;
    const held = await this.#holdForArrival(command);
    if (held.kind === 'held') {
      return { ...answer, accepted: true, message: notReceivedMessage(held.expiresAt) };
    }
    if (held.kind === 'failed') return { ...answer, message: held.message };
    // The spec arrived while the cancel was being recorded: cancel it as any stored trial.
    return this.#cancelKnown(command);
  }

  /** The answer for a trial this executor runs or the store knows; `state: null` for neither. */
  async #cancelKnown(command: PlannerCancel): Promise<CommandAnswered> {
    const { executor, clock } = this.options;
    const reply = await executor.cancel(command.trial_id, plannerReason(command));
    const answer: CommandAnswered = {
      type: 'planner.command_answered',
      command: command.type,
      command_id: command.command_id ?? null,
      trial_id: command.trial_id,
      accepted: reply.accepted,
      message: reply.message,
      ts: new Date(clock.now()).toISOString(),
    };
    const state = await this.#storedState(command.trial_id);
    if (state === undefined) return answer;
    if (reply.accepted) return { ...answer, state };
    return { ...answer, state, message: explain(state, reply.message) };
  }

  /**
   * Records a pending cancel for a trial not stored yet. When the trial turns out to be stored
   * by now, its intake may have looked for a cancel before this one was recorded, so the cancel
   * is withdrawn (it must not surprise a trial that was told nothing) and the caller answers as
   * for any stored trial.
   */
  async #holdForArrival(command: PlannerCancel): Promise<ArrivalHold> {
    const { store, clock, logger } = this.options;
    const now = clock.now();
    const ttlMs = this.options.pendingCancelTtlMs ?? PENDING_CANCEL_TTL_MS;
    const cancel = {
      trialId: command.trial_id,
      reason: plannerReason(command),
      commandId: command.command_id ?? null,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
    };
    try {
      const state = await store.recordPendingCancel(cancel);
      if (state === null) return { kind: 'held', expiresAt: cancel.expiresAt };
      await store.deletePendingCancel(cancel.trialId);
      return { kind: 'arrived' };
    } catch (error) {
      logger.warn('could not record a cancel for a trial not received yet', {
        trialId: cancel.trialId,
        error: serializeError(error),
      });
      const why = error instanceof Error ? error.message : String(error);
      return { kind: 'failed', message: `no such trial, and the cancel could not be kept: ${why}` };
    }
  }

  /** The recorded state; null when there is no record; undefined when the store failed. */
  async #storedState(trialId: string): Promise<TrialStateName | null | undefined> {
    try {
      return (await this.options.store.getTrial(trialId))?.state ?? null;
    } catch (error) {
      this.options.logger.warn('could not look up a trial for a cancel answer', {
        trialId,
        error: serializeError(error),
      });
      return undefined;
    }
  }

  async #reject(delivery: IntakeDelivery, error: unknown): Promise<void> {
    const field = error instanceof ValidationError ? error.field : undefined;
    const code = error instanceof AutomatError ? error.code : ErrorCodes.INTERNAL;
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.warn('planner command rejected', { code, field, message });
    await delivery.deadLetter({ code, message, ...(field ? { field } : {}) });
  }
}

/** What became of a cancel for a trial not stored when the cancel came. */
type ArrivalHold =
  { kind: 'held'; expiresAt: string } | { kind: 'arrived' } | { kind: 'failed'; message: string };

/** The reason recorded with the stop. */
function plannerReason(command: PlannerCancel): string {
  return `planner: ${command.reason ?? 'cancel requested'}`;
}

/** The supervisor only knows this process's trials; the store knows every executor's. */
function explain(state: TrialStateName | null, supervisorMessage: string): string {
  if (state === null) return 'no such trial';
  if (isTerminal(state)) return `trial already ended (${state})`;
  return `trial is ${state} but not running on this executor (${supervisorMessage})`;
}
