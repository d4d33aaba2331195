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
  /** Consulted for trials this executor does not run, to tell finished from unknown. */
  store: Pick<TrialStore, 'getTrial'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Takes planner commands from the control queue. A command is validated at this edge; a bad
 * one is dead-lettered with the reason and the field, like a bad TrialSpec. A good one is
 * carried out and answered with `planner.command_answered` on `automat.answers.<trial_id>`,
 * then acknowledged; if the answer cannot be published the command goes back to the queue, and
 * carrying out a cancel twice is harmless. A cancel for a trial that is unknown or already over
 * is answered `accepted: false` with the reason: it is not an error.
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
    const { executor, clock } = this.options;
    const reason = `planner: ${command.reason ?? 'cancel requested'}`;
    const reply = await executor.cancel(command.trial_id, reason);
    const answer: CommandAnswered = {
      type: 'planner.command_answered',
      command: command.type,
      command_id: command.command_id ?? null,
      trial_id: command.trial_id,
      accepted: reply.accepted,
      message: reply.message,
      ts: new Date(clock.now()).toISOString(),
    };
    if (reply.accepted) return answer;
    const state = await this.#storedState(command.trial_id);
    if (state === undefined) return answer;
    return { ...answer, state, message: explain(state, reply.message) };
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

/** The supervisor only knows this process's trials; the store knows every executor's. */
function explain(state: TrialStateName | null, supervisorMessage: string): string {
  if (state === null) return 'no such trial';
  if (isTerminal(state)) return `trial already ended (${state})`;
  return `trial is ${state} but not running on this executor (${supervisorMessage})`;
}
