import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { ErrorCodes } from '../src/errors/index.js';

describe('loadConfig', () => {
  it('takes the defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config.inputSchemes).toEqual(['s3']);
    expect(config.leaseTtlMs).toBe(30_000);
  });

  it('treats an empty setting as unset, and takes `none` for no input schemes', () => {
    const config = loadConfig({ AUTOMAT_EXCHANGE: '', AUTOMAT_DB_SCHEMA: ' ' });
    expect(config.busNames.exchange).toBe('automat');
    expect(config.databaseSchema).toBe('automat');
    expect(loadConfig({ AUTOMAT_INPUT_SCHEMES: 'none' }).inputSchemes).toEqual([]);
  });

  it('refuses a worker heap too small for a worker to start, naming the variable', () => {
    expect(() => loadConfig({ AUTOMAT_WORKER_MEMORY_MIB: '1' })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.CONFIG_INVALID,
        message: 'AUTOMAT_WORKER_MEMORY_MIB must be an integer of at least 64, got "1"',
      }),
    );
    expect(loadConfig({ AUTOMAT_WORKER_MEMORY_MIB: '96' }).policy.workerMemoryMiB).toBe(96);
  });
});
