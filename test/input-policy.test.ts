import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialSpec } from '../src/contracts/index.js';
import { ErrorCodes, ValidationError } from '../src/errors/index.js';
import { checkInputLocations, createInputPolicy } from '../src/policy/input-policy.js';

describe('input policy: where a TrialSpec may point', () => {
  let root: string;
  let outside: string;
  const spec = (overrides: Partial<TrialSpec>): TrialSpec => ({
    trial_id: 't1',
    task_type: 'classification',
    tokenizer_ref: 'llama2',
    device_profile: 'cpu',
    seq_len: 16,
    embed_dim: 8,
    budget_seconds: 10,
    dataset_uri: join(root, 'data.jsonl'),
    primary_metric: 'val_accuracy',
    ...overrides,
  });
  const refusal = (overrides: Partial<TrialSpec>): ValidationError => {
    const policy = createInputPolicy([root], ['s3']);
    try {
      checkInputLocations(spec(overrides), policy);
    } catch (error) {
      if (error instanceof ValidationError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'automat0-roots-'));
    outside = await mkdtemp(join(tmpdir(), 'automat0-outside-'));
    await writeFile(join(root, 'data.jsonl'), '{"text":"a","label":"x"}\n');
    await writeFile(join(outside, 'secret.jsonl'), '{"text":"s","label":"x"}\n');
    await mkdir(join(root, 'nested'));
    await symlink(outside, join(root, 'nested', 'escape'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('accepts paths and file:// URIs inside a root, registry tokenizers, and allowed schemes', () => {
    const policy = createInputPolicy([root], ['s3']);
    expect(() => checkInputLocations(spec({}), policy)).not.toThrow();
    expect(() =>
      checkInputLocations(
        spec({ dataset_uri: `file://${join(root, 'data.jsonl')}#format=jsonl` }),
        policy,
      ),
    ).not.toThrow();
    expect(() =>
      checkInputLocations(spec({ dataset_uri: 's3://bucket/data.jsonl' }), policy),
    ).not.toThrow();
    expect(() =>
      checkInputLocations(spec({ dataset_uri: join(root, 'not-yet.jsonl') }), policy),
    ).not.toThrow();
  });

  it('refuses an absolute path outside the roots, naming the field', () => {
    const error = refusal({ dataset_uri: '/etc/passwd' });
    expect(error.field).toBe('trial.dataset_uri');
    expect(error.message).toBe(`trial.dataset_uri must be inside ${root}, got "/etc/passwd"`);
  });

  it('refuses ".." segments even when they would land inside a root', () => {
    expect(refusal({ dataset_uri: `${root}/nested/../data.jsonl` }).message).toContain(
      'must not contain ".."',
    );
  });

  it('refuses a symbolic link that leads out of the root', () => {
    const error = refusal({ dataset_uri: join(root, 'nested', 'escape', 'secret.jsonl') });
    expect(error.message).toContain('(it is a symbolic link that leads out of it)');
  });

  it('refuses file:// URIs outside the roots and schemes that are not configured', () => {
    expect(refusal({ dataset_uri: 'file:///etc/shadow' }).field).toBe('trial.dataset_uri');
    const http = refusal({ tokenizer_ref: 'http://example.invalid/tokenizer.json' });
    expect(http.field).toBe('trial.tokenizer_ref');
    expect(http.message).toContain('must use one of a local path, file://, s3://');
  });

  it('refuses a scheme not written in lower case, which no reader would take', () => {
    const upper = refusal({ dataset_uri: 'S3://bucket/data.jsonl' });
    expect(upper.field).toBe('trial.dataset_uri');
    expect(upper.message).toContain('must write its scheme in lower case ("s3://", not "S3://")');
    expect(refusal({ tokenizer_ref: 'File:///tmp/t.json' }).field).toBe('trial.tokenizer_ref');
  });

  it('refuses, at start-up, a configured scheme that no reader opens', () => {
    expect(() => createInputPolicy([root], ['s3', 'http'])).toThrow(
      expect.objectContaining({
        code: ErrorCodes.CONFIG_INVALID,
        message: expect.stringContaining('AUTOMAT_INPUT_SCHEMES may name s3'),
      }),
    );
  });

  it('refuses, at start-up, a configured root that is not a folder', () => {
    expect(() => createInputPolicy([join(root, 'no-such-folder')], [])).toThrow(
      expect.objectContaining({
        code: ErrorCodes.CONFIG_INVALID,
        message: expect.stringContaining('AUTOMAT_INPUT_ROOTS must name existing folders'),
      }),
    );
  });

  // Regression: the policy checked only the text before the first "#", while the readers take
  // a "#" as part of the path unless an option list follows it, so "x#/../../secret" got out.
  it('checks the whole path a reader opens, "#" and all', () => {
    const escape = `${root}/x#/../../${outside.split('/').pop() as string}/secret.jsonl`;
    for (const dataset_uri of [escape, `${escape}#format=jsonl`, 'x#/../../../etc/passwd']) {
      expect(refusal({ dataset_uri }).message).toContain('must not contain ".."');
    }
    expect(refusal({ dataset_uri: `x#${outside}/secret.jsonl` }).message).toContain(
      'must be inside',
    );
    expect(refusal({ tokenizer_ref: `${root}#/../../etc/passwd` }).field).toBe(
      'trial.tokenizer_ref',
    );
    const policy = createInputPolicy([root], []);
    const hashInName = spec({ dataset_uri: `${root}/a#b.jsonl#text=body&label=stars` });
    expect(() => checkInputLocations(hashInName, policy)).not.toThrow();
  });

  it('refuses a bare tokenizer name that is neither in the registry nor a file here', () => {
    const error = refusal({ tokenizer_ref: 'gpt99' });
    expect(error.field).toBe('trial.tokenizer_ref');
    expect(error.message).toBe(
      'trial.tokenizer_ref must be a registry name (llama2) or the path of a tokenizer.json ' +
        'or its folder, got "gpt99"',
    );
  });

  it('refuses a tokenizer path outside the roots', () => {
    expect(refusal({ tokenizer_ref: '/etc/passwd' }).field).toBe('trial.tokenizer_ref');
  });
});
