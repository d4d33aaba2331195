import { describe, expect, it } from 'vitest';
import { ErrorCodes, ValidationError } from '../src/errors/index.js';
import {
  formatWorkerArgs,
  parseWorkerArgs,
  type WorkerArgs,
} from '../src/worker-protocol/worker-args.js';

const args: WorkerArgs = {
  controlEndpoint: 'tcp://127.0.0.1:40001',
  heartbeatEndpoint: 'tcp://127.0.0.1:40002',
  trialId: 'spam-001',
  attempt: 3,
  logLevel: 'info',
  trainTimeoutMs: 5000,
  exitWithParent: true,
};

function rejection(argv: string[]): ValidationError {
  try {
    parseWorkerArgs(argv);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('worker argv', () => {
  it('parses what the launcher formats', () => {
    expect(parseWorkerArgs(formatWorkerArgs(args))).toEqual(args);
    expect(parseWorkerArgs(formatWorkerArgs({ ...args, exitWithParent: false }))).toEqual({
      ...args,
      exitWithParent: false,
    });
  });

  it('names the flag and the expectation when a value is wrong', () => {
    const argv = formatWorkerArgs(args);
    argv[argv.indexOf('--attempt') + 1] = '0';
    const error = rejection(argv);
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error.message).toBe('--attempt must be an integer of at least 1, got "0"');
  });

  it('rejects a trial id that is not one word of a routing key', () => {
    const argv = formatWorkerArgs({ ...args, trialId: 'a.b' });
    expect(rejection(argv).field).toBe('--trial-id');
  });

  it('rejects unknown flags and missing endpoints', () => {
    expect(rejection([...formatWorkerArgs(args), '--shell', 'rm -rf /']).message).toMatch(
      /--shell/,
    );
    expect(rejection(['--trial-id', 'x']).message).toMatch(/--control-endpoint is required/);
  });
});
