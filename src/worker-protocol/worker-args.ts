import { parseArgs } from 'node:util';
import { TrialId } from '../contracts/index.js';
import { ErrorCodes, ValidationError } from '../errors/index.js';
import type { LogLevel } from '../log/logger.js';
import { CHANNEL_KEY_ENV } from './channel-keys.js';

/** What the launcher tells a worker process on its command line. */
export interface WorkerArgs {
  controlEndpoint: string;
  heartbeatEndpoint: string;
  trialId: string;
  attempt: number;
  logLevel: LogLevel;
  /** Fail with AUTOMAT_E_WORKER_TIMEOUT when no `control.train` arrives within this time. */
  trainTimeoutMs: number;
  /** Exit when stdin closes: the launcher holds its end, so this means the executor is gone. */
  exitWithParent: boolean;
  /** The channel's CURVE key, read from the environment (never argv); unset for plain channels. */
  channelKey?: string;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
const trialIdPattern = new RegExp(TrialId.pattern ?? '');

/** The argv a worker receives after its entry script, in a fixed order. */
export function formatWorkerArgs(args: WorkerArgs): string[] {
  const argv = [
    '--control-endpoint',
    args.controlEndpoint,
    '--heartbeat-endpoint',
    args.heartbeatEndpoint,
    '--trial-id',
    args.trialId,
    '--attempt',
    String(args.attempt),
    '--log-level',
    args.logLevel,
    '--train-timeout-ms',
    String(args.trainTimeoutMs),
  ];
  if (args.exitWithParent) argv.push('--exit-with-parent');
  return argv;
}

/**
 * Parses a worker's argv, and the channel key from `env`; throws a ValidationError naming the
 * flag that is wrong.
 */
export function parseWorkerArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): WorkerArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'control-endpoint': { type: 'string' },
        'heartbeat-endpoint': { type: 'string' },
        'trial-id': { type: 'string' },
        attempt: { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
        'train-timeout-ms': { type: 'string', default: '120000' },
        'exit-with-parent': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ValidationError(
      'argv',
      [`worker argv is invalid: ${detail}`],
      ErrorCodes.CONFIG_INVALID,
    );
  }
  return {
    controlEndpoint: endpoint(values, 'control-endpoint'),
    heartbeatEndpoint: endpoint(values, 'heartbeat-endpoint'),
    trialId: matching(values, 'trial-id', trialIdPattern, TrialId.description ?? 'a trial id'),
    attempt: integer(values, 'attempt', 1),
    logLevel: logLevel(values),
    trainTimeoutMs: integer(values, 'train-timeout-ms', 1),
    exitWithParent: values['exit-with-parent'] === true,
    ...(env[CHANNEL_KEY_ENV] ? { channelKey: env[CHANNEL_KEY_ENV] } : {}),
  };
}

function required(values: Record<string, unknown>, flag: string, expected: string): string {
  const value = values[flag];
  if (typeof value !== 'string') fail(flag, `is required (${expected})`);
  return value;
}

function endpoint(values: Record<string, unknown>, flag: string): string {
  return matching(
    values,
    flag,
    /^tcp:\/\/.+:\d+$/,
    'a ZeroMQ endpoint such as tcp://127.0.0.1:5555',
  );
}

function matching(
  values: Record<string, unknown>,
  flag: string,
  pattern: RegExp,
  expected: string,
): string {
  const value = required(values, flag, expected);
  if (!pattern.test(value)) fail(flag, `must be ${expected}, got ${JSON.stringify(value)}`);
  return value;
}

function integer(values: Record<string, unknown>, flag: string, minimum: number): number {
  const expected = `an integer of at least ${minimum}`;
  const value = required(values, flag, expected);
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum || !/^\d+$/.test(value)) {
    fail(flag, `must be ${expected}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function logLevel(values: Record<string, unknown>): LogLevel {
  const expected = `one of ${LOG_LEVELS.join(', ')}`;
  const value = required(values, 'log-level', expected);
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (level === undefined) fail('log-level', `must be ${expected}, got ${JSON.stringify(value)}`);
  return level;
}

function fail(flag: string, problem: string): never {
  throw new ValidationError(`--${flag}`, [`--${flag} ${problem}`], ErrorCodes.CONFIG_INVALID);
}
