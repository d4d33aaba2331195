import { describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { ErrorCodes, ValidationError } from '../src/errors/index.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';

const validSpec = {
  trial_id: 'spam-001',
  task_type: 'classification',
  tokenizer_ref: 'llama2',
  device_profile: 'cpu',
  seq_len: 128,
  embed_dim: 32,
  budget_seconds: 120,
  dataset_uri: 'examples/data/spam-assassin.jsonl',
  primary_metric: 'val_accuracy',
};

function rejection(value: unknown): ValidationError {
  try {
    contracts.trialSpec.parse(value);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('TrialSpec contract', () => {
  it('accepts a complete spec and optional hparams', () => {
    expect(contracts.trialSpec.parse(validSpec)).toEqual(validSpec);
    const withHparams = { ...validSpec, hparams: { epochs: 3, patience: 1, min_delta: 0.01 } };
    expect(contracts.trialSpec.parse(withHparams).hparams?.epochs).toBe(3);
  });

  it('names a wrong type with the expectation and the value it got', () => {
    const error = rejection({ ...validSpec, seq_len: 'abc' });
    expect(error.field).toBe('trial.seq_len');
    expect(error.message).toBe('trial.seq_len must be an integer between 8 and 8192, got "abc"');
  });

  it('names a missing field once, as required', () => {
    const missing: Record<string, unknown> = { ...validSpec };
    delete missing.dataset_uri;
    const error = rejection(missing);
    expect(error.field).toBe('trial.dataset_uri');
    expect(error.problems).toEqual([
      'trial.dataset_uri is required (a non-empty dataset path or URI)',
    ]);
  });

  it('rejects an unknown task_type and lists the known ones', () => {
    const error = rejection({ ...validSpec, task_type: 'translation' });
    expect(error.message).toContain(
      'trial.task_type must be one of "classification", "generation"',
    );
    expect(error.message).toContain('got "translation"');
  });

  it('rejects unknown fields inside hparams', () => {
    const error = rejection({ ...validSpec, hparams: { epochs: 2, dropout: 0.5 } });
    expect(error.message).toBe('trial.hparams.dropout is not a known field');
  });

  it('rejects a trial_id that would break a routing key', () => {
    expect(rejection({ ...validSpec, trial_id: 'a.b' }).field).toBe('trial.trial_id');
  });

  it('quotes a bad value with its invisible and direction-changing characters escaped', () => {
    const error = rejection({ ...validSpec, trial_id: 'bad\u202egnp\u200b' });
    expect(error.message).toContain('got "bad\\u202egnp\\u200b"');
  });

  it('reports invalid JSON with its own code', () => {
    try {
      contracts.trialSpec.parseJson('{"trial_id": ');
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).code).toBe('AUTOMAT_E_INVALID_JSON');
    }
  });

  it('rejects a non-object body', () => {
    expect(rejection([1, 2]).message).toBe('trial must be a JSON object, got [1,2]');
  });
});

describe('JSON text', () => {
  it('takes a TrialSpec whose text starts with a byte order mark', () => {
    const text = `\ufeff${JSON.stringify(validSpec)}`;
    expect(contracts.trialSpec.parseJson(Buffer.from(text, 'utf8'))).toMatchObject(validSpec);
  });
});

describe('values JSON cannot quote', () => {
  it('names a number beyond the range of a double as such, not as null', () => {
    const text = JSON.stringify({ ...validSpec, budget_seconds: 0 }).replace(
      '"budget_seconds":0',
      '"budget_seconds":1e400',
    );
    expect(() => contracts.trialSpec.parseJson(text)).toThrow(
      /trial\.budget_seconds must be .*, got Infinity \(a number beyond the range of a double\)/,
    );
  });

  it('reports a value nested deeper than the stack allows against its field, not as internal', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const text = JSON.stringify({ ...validSpec, hparams: { epochs: 0 } }).replace(
      '"epochs":0',
      `"epochs":${deep}`,
    );
    expect(() => contracts.trialSpec.parseJson(text)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_MESSAGE,
        field: 'trial.hparams.epochs',
        message: expect.stringContaining('got an array nested too deeply to show'),
      }),
    );
  });
});

describe('resolveTrialSpec', () => {
  it('fills documented defaults', () => {
    const resolved = resolveTrialSpec(contracts.trialSpec.parse(validSpec));
    expect(resolved.mode).toBe('max');
    expect(resolved.epochs).toBe(5);
    expect(resolved.budgetMs).toBe(120_000);
    expect(Number.isInteger(Math.log2(resolved.batchSize))).toBe(true);
  });

  it('rejects a metric that does not fit the task', () => {
    const spec = contracts.trialSpec.parse({ ...validSpec, primary_metric: 'val_perplexity' });
    expect(() => resolveTrialSpec(spec)).toThrow(/trial.primary_metric must be one of/);
  });

  it('rejects an unknown device profile with the list of known ones', () => {
    const spec = contracts.trialSpec.parse({ ...validSpec, device_profile: 'tpu-v9' });
    expect(() => resolveTrialSpec(spec)).toThrow(/must be one of cpu, t4-16gb, a100-80gb, h200/);
  });

  it('reports every broken cross-field rule at once, naming the first field', () => {
    const spec = contracts.trialSpec.parse({
      ...validSpec,
      primary_metric: 'val_perplexity',
      hparams: { batch_size: 8, min_batch_size: 16 },
    });

    expect(() => resolveTrialSpec(spec)).toThrow(
      expect.objectContaining({
        field: 'trial.primary_metric',
        problems: [
          expect.stringContaining('trial.primary_metric must be one of'),
          'trial.hparams.min_batch_size must be at most the batch size 8, got 16',
        ],
      }),
    );
  });
});

describe('heartbeat contract', () => {
  it('accepts an epoch with a null metric (NaN on the worker)', () => {
    const epoch = {
      type: 'heartbeat.epoch',
      trial_id: 't1',
      seq: 3,
      ts: '2026-01-01T00:00:00.000Z',
      attempt: 1,
      epoch: 1,
      duration_ms: 10,
      metrics: { primary: null, tokens_per_s: 5, train_loss: 0.5, val_loss: null },
    };
    expect(contracts.heartbeat.parse(epoch)).toEqual(epoch);
  });

  it('rejects a heartbeat of an unknown type', () => {
    expect(() => contracts.heartbeat.parse({ type: 'heartbeat.bogus', trial_id: 't1' })).toThrow(
      ValidationError,
    );
  });
});

describe('discriminated unions', () => {
  it('names the bad field of the member the message claims to be', () => {
    const hello = {
      type: 'heartbeat.hello',
      trial_id: 't1',
      seq: 0,
      ts: '2026-01-01T00:00:00.000Z',
      attempt: 1,
      actual_batch: 'big',
      tokenizer_ref: 'llama2',
      pid: 42,
      start_epoch: 1,
    };
    expect(() => contracts.heartbeat.parse(hello)).toThrow(
      /heartbeat\.hello\.actual_batch must be an integer/,
    );
  });
});
