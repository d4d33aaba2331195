import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { SingleFlight } from '../src/ingest/single-flight.js';

/** A job the test finishes by hand, recording the signal it was given. */
function manualJob(): {
  work: (signal: AbortSignal) => Promise<string>;
  finish: (value: string) => void;
  started: () => number;
  signal: () => AbortSignal | undefined;
} {
  let runs = 0;
  let given: AbortSignal | undefined;
  let resolve: (value: string) => void = () => undefined;
  return {
    work: (signal) => {
      runs += 1;
      given = signal;
      return new Promise((r) => (resolve = r));
    },
    finish: (value) => resolve(value),
    started: () => runs,
    signal: () => given,
  };
}

describe('SingleFlight', () => {
  it('runs one job for concurrent callers with the same key', async () => {
    const flights = new SingleFlight<string>();
    const job = manualJob();

    const a = flights.run('k', job.work);
    const b = flights.run('k', job.work);
    job.finish('shards');

    expect(await Promise.all([a, b])).toEqual(['shards', 'shards']);
    expect(job.started()).toBe(1);
    expect(flights.size).toBe(0);
  });

  it('lets one caller give up while the job keeps running for the other', async () => {
    const flights = new SingleFlight<string>();
    const job = manualJob();
    const quitter = new AbortController();
    const stayer = new AbortController();

    const a = flights.run('k', job.work, quitter.signal);
    const b = flights.run('k', job.work, stayer.signal);
    quitter.abort(new Error('trial cancelled'));

    await expect(a).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
    expect(job.signal()?.aborted).toBe(false);
    job.finish('shards');
    expect(await b).toBe('shards');
  });

  it('cancels the job once every caller has given up', async () => {
    const flights = new SingleFlight<string>();
    const job = manualJob();
    const only = new AbortController();

    const a = flights.run('k', job.work, only.signal);
    only.abort(new Error('shutting down'));

    await expect(a).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
    expect(job.signal()?.aborted).toBe(true);
    job.finish('late');
  });
});
