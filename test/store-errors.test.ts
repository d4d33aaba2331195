/** The one translation of database and socket failures into stable Automat0 codes. */
import { describe, expect, it } from 'vitest';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { StoreError, toStoreError } from '../src/store/store-errors.js';

function coded(code: string, message = `failed with ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('toStoreError', () => {
  it.each([
    ['57P01', ErrorCodes.STORE_UNAVAILABLE],
    ['57P02', ErrorCodes.STORE_UNAVAILABLE],
    ['57P03', ErrorCodes.STORE_UNAVAILABLE],
    ['08006', ErrorCodes.STORE_UNAVAILABLE],
    ['08001', ErrorCodes.STORE_UNAVAILABLE],
    ['53300', ErrorCodes.STORE_UNAVAILABLE],
    ['23505', ErrorCodes.STORE_CONFLICT],
    ['23503', ErrorCodes.STORE_CONFLICT],
    ['40001', ErrorCodes.STORE_CONFLICT],
    ['40P01', ErrorCodes.STORE_CONFLICT],
    ['28P01', ErrorCodes.CONFIG_INVALID],
    ['3D000', ErrorCodes.CONFIG_INVALID],
    ['42601', ErrorCodes.INTERNAL],
    ['ECONNREFUSED', ErrorCodes.STORE_UNAVAILABLE],
    ['ECONNRESET', ErrorCodes.STORE_UNAVAILABLE],
    ['ENOSPC', ErrorCodes.STORE_UNAVAILABLE],
    ['SQLITE_BUSY', ErrorCodes.STORE_UNAVAILABLE],
    ['SQLITE_CANTOPEN', ErrorCodes.STORE_UNAVAILABLE],
    ['SQLITE_IOERR_WRITE', ErrorCodes.STORE_UNAVAILABLE],
    ['SQLITE_CONSTRAINT_PRIMARYKEY', ErrorCodes.STORE_CONFLICT],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', ErrorCodes.STORE_CONFLICT],
    ['SQLITE_ERROR', ErrorCodes.INTERNAL],
    ['ERR_SOMETHING_ELSE', ErrorCodes.INTERNAL],
  ])('maps %s to %s', (driverCode, expected) => {
    const cause = coded(driverCode);
    const error = toStoreError(cause, 'recordEpoch');

    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: expected, operation: 'recordEpoch', driverCode, cause });
    expect(error.message).toBe(`trial store recordEpoch failed: failed with ${driverCode}`);
  });

  it('maps pg connection errors that carry no code', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'timeout exceeded when trying to connect',
      'Cannot use a pool after calling end on the pool',
    ]) {
      expect(toStoreError(new Error(message), 'getTrial').code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    }
  });

  it('reads the code of a dual-stack connect failure from its first attempt', () => {
    const aggregate = new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect');

    expect(toStoreError(aggregate, 'migrate').code).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });

  it('calls a missing table not migrated, and suggests migrating', () => {
    for (const missing of [
      coded('42P01', 'relation "trials" does not exist'),
      coded('SQLITE_ERROR', 'no such table: trials'),
    ]) {
      expect(toStoreError(missing, 'getTrial')).toMatchObject({
        code: ErrorCodes.STORE_NOT_MIGRATED,
        message: expect.stringContaining('run migrate first'),
      });
    }
  });

  it('passes an AutomatError through and wraps non-errors', () => {
    const own = new AutomatError(ErrorCodes.STORE_CONFLICT, 'already there');

    expect(toStoreError(own, 'createTrial')).toBe(own);
    expect(toStoreError('boom', 'close')).toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: 'trial store close failed: boom',
    });
  });

  it('crosses a process boundary as name, code and message', () => {
    expect(toStoreError(coded('57P01', 'terminating connection'), 'migrate').toJSON()).toEqual({
      name: 'StoreError',
      code: ErrorCodes.STORE_UNAVAILABLE,
      message: 'trial store migrate failed: terminating connection',
    });
  });
});
