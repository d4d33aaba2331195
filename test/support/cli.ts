import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BusTopologyNames } from '../../src/bus/bus-topology.js';
import { AMQP_URL } from './executor-harness.js';

const run = promisify(execFile);

/** What `automat0 cancel` needs to talk to a test's topology instead of the real one. */
export function cliEnv(names: BusTopologyNames): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AUTOMAT_AMQP_URL: AMQP_URL,
    AUTOMAT_EXCHANGE: names.exchange,
    AUTOMAT_INTAKE_QUEUE: names.intakeQueue,
    AUTOMAT_DLX: names.deadLetterExchange,
    AUTOMAT_DEAD_LETTER_QUEUE: names.deadLetterQueue,
    AUTOMAT_CONTROL_QUEUE: names.controlQueue,
    AUTOMAT_LOG_LEVEL: 'error',
  };
}

/** Runs the built `automat0` with `args`; resolves to its exit code and output, never throws. */
export async function cli(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/src/cli/main.js', ...args], {
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
