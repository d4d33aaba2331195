import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { encodeHead } from '../src/ingest/encode-text.js';
import { IngestPool } from '../src/ingest/ingest-pool.js';
import type { LoadedTokenizer } from '../src/ingest/loaded-tokenizer.js';
import { openEncoder, type TokenEncoder } from '../src/ingest/token-encoder.js';
import type { TokenizeTask } from '../src/ingest/tokenize-task.js';
import { loadTokenizer } from '../src/ingest/tokenizer-registry.js';
import { distEntry } from '../src/runtime/dist-path.js';

let pool: IngestPool;
let tokenizer: LoadedTokenizer;
let encoder: TokenEncoder;

function task(texts: string[], seqLen = 8): TokenizeTask {
  return {
    ref: tokenizer.ref,
    files: tokenizer.files,
    sha256: tokenizer.sha256,
    backend: 'native',
    wordBounded: tokenizer.wordBounded,
    texts,
    layout: { kind: 'padded', seqLen, padId: tokenizer.padId },
  };
}

const ragged: TokenizeTask['layout'] = { kind: 'ragged', eosId: 2 };

beforeAll(async () => {
  tokenizer = await loadTokenizer('llama2');
  encoder = await openEncoder('llama2', 'native', tokenizer.files, tokenizer.sha256);
  pool = new IngestPool({ threads: 2, maxInFlight: 2 });
});

afterAll(async () => {
  await pool.close();
});

describe('IngestPool', () => {
  it('loads the compiled worker module from dist', () => {
    expect(distEntry('src/ingest/tokenize-task')).toMatch(
      /dist[\\/]src[\\/]ingest[\\/]tokenize-task\.js$/,
    );
  });

  it('pads and truncates each text to seq_len on a worker thread', async () => {
    const long = 'free money '.repeat(20);

    const output = await pool.run(task(['hi', long]));

    const short = (await encodeHead(encoder, true, 'hi', 8)).ids;
    expect(output.ids).toBeInstanceOf(Int32Array);
    expect([...output.ids.subarray(0, 8)]).toEqual([...short, ...Array(8 - short.length).fill(0)]);
    expect([...output.ids.subarray(8)]).toEqual((await encodeHead(encoder, true, long, 8)).ids);
    expect([...output.lengths]).toEqual([short.length, 8]);
    expect(output.truncated).toBe(1);
  });

  it('packs every id plus end-of-sequence for the ragged layout', async () => {
    const output = await pool.run({ ...task(['a b', 'c']), layout: { kind: 'ragged', eosId: 2 } });

    expect(output.lengths.length).toBe(2);
    expect(output.ids.length).toBe((output.lengths[0] as number) + (output.lengths[1] as number));
    expect(output.ids[(output.lengths[0] as number) - 1]).toBe(2);
  });

  it('keeps the stable error code of a failure inside a thread', async () => {
    await expect(pool.run({ ...task(['x']), sha256: 'f'.repeat(64) })).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining('changed on disk'),
    });
  });

  it('never has more batches in flight than allowed', async () => {
    let peak = 0;
    const results = [];
    for (let i = 0; i < 8; i += 1) {
      const batch = await pool.enqueue(task([`text number ${i}`]));
      peak = Math.max(peak, pool.inFlight);
      results.push(batch.result);
    }

    expect((await Promise.all(results)).length).toBe(8);
    expect(peak).toBe(2);
    expect(pool.inFlight).toBe(0);
  });

  it('refuses an aborted batch', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user gave up'));

    await expect(pool.run(task(['x']), controller.signal)).rejects.toMatchObject({
      code: ErrorCodes.CANCELLED,
    });
  });

  it('rejects a running batch at once when cancelled, keeping its slot until the thread is done', async () => {
    const own = new IngestPool({ threads: 1 });
    try {
      await own.run(task(['warm up']));
      const controller = new AbortController();
      const long = { ...task(['free money, '.repeat(100_000)]), layout: ragged };

      const batch = await own.enqueue(long, controller.signal);
      controller.abort(new Error('user gave up'));

      await expect(batch.result).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
      expect(own.inFlight).toBe(1);
      const next = await own.run(task(['the same thread, still serving']));
      expect(next.lengths.length).toBe(1);
      expect(own.inFlight).toBe(0);
    } finally {
      await own.close();
    }
  });

  // Regression: with maxInFlight 16 (eight threads by default) Node warned of an abort-listener
  // leak on the caller's signal.
  it('keeps many batches in flight on one signal without a listener-leak warning', async () => {
    const own = new IngestPool({ threads: 1, maxInFlight: 16 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const signal = new AbortController().signal;
      const batches = await Promise.all(
        Array.from({ length: 16 }, (_, i) => own.enqueue(task([`text ${i}`]), signal)),
      );
      await Promise.all(batches.map((b) => b.result));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await own.close();
    }
  });

  it('closes once and refuses batches afterwards, saying why it closed', async () => {
    const own = new IngestPool({ threads: 1 });
    await own.run(task(['warm up']));

    const closing = own.close('test done');
    expect(own.close()).toBe(closing);
    await closing;
    await expect(own.run(task(['x']))).rejects.toMatchObject({
      code: ErrorCodes.CANCELLED,
      message: expect.stringContaining('closed ingest pool (test done)'),
    });
  });
});
