import { AmqpBus } from '../../bus/amqp-bus.js';
import { loadConfig } from '../../config/config.js';
import { contracts } from '../../contracts/index.js';
import { createLogger } from '../../log/logger.js';
import { resolveTrialSpec } from '../../trial/resolve-trial-spec.js';
import { readSpecFile } from './run.js';

export interface SubmitOptions {
  /** Publish the file as it is, without checking it first (to exercise the dead-letter path). */
  raw?: boolean;
}

/** `automat0 submit <spec>`: publishes one TrialSpec to the intake queue, with a confirm. */
export async function submitCommand(specPath: string, options: SubmitOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel ?? 'warn', format: 'pretty' });
  const body = await readSpecFile(specPath);
  const trialId = options.raw
    ? undefined
    : resolveTrialSpec(contracts.trialSpec.parseJson(body)).spec.trial_id;

  const bus = await AmqpBus.connect({ url: config.amqpUrl, names: config.busNames, logger });
  try {
    await bus.submit(body);
    const named = trialId === undefined ? '' : ` (trial ${trialId})`;
    console.log(`submitted ${specPath}${named} to ${config.busNames.intakeQueue}`);
    return 0;
  } finally {
    await bus.close();
  }
}
