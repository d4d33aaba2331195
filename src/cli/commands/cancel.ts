import { randomUUID } from 'node:crypto';
import { AmqpBus } from '../../bus/amqp-bus.js';
import type { Subscription } from '../../bus/bus.js';
import { loadConfig } from '../../config/config.js';
import { contracts, type CommandAnswered } from '../../contracts/index.js';
import { AutomatError, ErrorCodes } from '../../errors/index.js';
import { answerKey, controlBusNames } from '../../executor/control-consumer.js';
import { createLogger } from '../../log/logger.js';

export interface CancelOptions {
  /** Recorded with the stop. */
  reason?: string;
  /** Seconds to wait for an executor's answer; a string as commander hands it over. */
  timeout: string;
}

/** Exit codes of `automat0 cancel`, besides 2 for bad arguments and unreachable services. */
export const CancelExit = {
  accepted: 0,
  refused: 1,
  unanswered: 3,
} as const;

/**
 * `automat0 cancel <trial_id>`: publishes a `planner.cancel` to the control queue, exactly as a
 * planner would, and prints the executor's answer. Exits 0 when the trial will stop (or, not
 * received by any executor yet, will end cancelled when it arrives), 1 when it is already over
 * or out of this executor's reach, 3 when no executor answered in time.
 */
export async function cancelCommand(trialId: string, options: CancelOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'warn', format: 'pretty' });
  const timeoutMs = parseTimeout(options.timeout);
  const command = contracts.plannerCommand.parse({
    type: 'planner.cancel',
    trial_id: trialId,
    command_id: randomUUID(),
    ...(options.reason ? { reason: options.reason } : {}),
    ts: new Date().toISOString(),
  });
  const names = controlBusNames(config.busNames);
  const bus = await AmqpBus.connect({
    url: config.amqpUrl,
    names,
    logger,
    connectionName: 'automat0-cancel',
  });
  let subscription: Subscription | undefined;
  try {
    let answered: (answer: CommandAnswered) => void = () => undefined;
    const answer = new Promise<CommandAnswered>((resolve) => (answered = resolve));
    subscription = await bus.subscribe(answerKey(trialId), (_key, message) => {
      if (!contracts.commandAnswered.is(message)) return;
      if (message.command_id === command.command_id) answered(message);
    });
    await bus.submit(command);
    const reply = await Promise.race([answer, sleep(timeoutMs)]);
    if (reply === undefined) {
      console.error(
        `no executor answered within ${timeoutMs / 1000} s; the cancel stays on ` +
          `${names.controlQueue} and is carried out when an executor takes it`,
      );
      return CancelExit.unanswered;
    }
    const verdict = reply.accepted ? 'cancel accepted' : 'not cancelled';
    console.log(`${trialId}: ${verdict}: ${reply.message}`);
    return reply.accepted ? CancelExit.accepted : CancelExit.refused;
  } finally {
    await subscription?.close();
    await bus.close();
  }
}

function parseTimeout(raw: string): number {
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  throw new AutomatError(
    ErrorCodes.CONFIG_INVALID,
    `--timeout must be a positive number of seconds, got ${JSON.stringify(raw)}`,
  );
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
