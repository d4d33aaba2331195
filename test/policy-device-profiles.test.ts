import { describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import {
  DEVICE_PROFILES,
  initialBatchSize,
  resolveDeviceProfile,
  workerHeapMiB,
  type DeviceProfile,
} from '../src/policy/device-profiles.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';

const spec = {
  trial_id: 'profile-test',
  task_type: 'classification',
  tokenizer_ref: 'llama2',
  device_profile: 'cpu',
  seq_len: 256,
  embed_dim: 64,
  budget_seconds: 60,
  dataset_uri: '/data/x.jsonl',
  primary_metric: 'val_accuracy',
};

describe('device profiles', () => {
  it('lists the documented profiles with their provider, memory and concurrency', () => {
    expect(Object.keys(DEVICE_PROFILES)).toEqual(['cpu', 't4-16gb', 'a100-80gb', 'h200']);
    expect(DEVICE_PROFILES['t4-16gb']).toMatchObject({
      concurrency: 1,
      memoryMiB: 15 * 1024,
      executionProvider: 'cuda',
    });
    expect(DEVICE_PROFILES.cpu?.executionProvider).toBe('wasm');
    expect(DEVICE_PROFILES.h200?.concurrency).toBe(6);
  });

  it('derives the initial batch from seq_len and embed_dim (the table in docs/policies.md)', () => {
    const batch = (name: string, seqLen: number, embedDim: number) =>
      initialBatchSize(resolveDeviceProfile(name), seqLen, embedDim);
    expect(batch('cpu', 256, 128)).toBe(32);
    expect(batch('cpu', 256, 64)).toBe(64);
    expect(batch('cpu', 512, 128)).toBe(16);
    expect(batch('t4-16gb', 256, 128)).toBe(256);
    expect(batch('a100-80gb', 1024, 256)).toBe(128);
    expect(batch('h200', 2048, 512)).toBe(64);
    expect(batch('cpu', 8192, 4096)).toBe(1);
    expect(batch('h200', 8, 1)).toBe(65536);
  });

  it('gives a worker the profile’s heap, capped at three quarters of the machine, unless configured', () => {
    const gib = 2 ** 30;
    const h200 = DEVICE_PROFILES['h200'] as DeviceProfile;
    const cpu = DEVICE_PROFILES['cpu'] as DeviceProfile;
    expect(workerHeapMiB(h200, undefined, 24 * gib)).toBe(18 * 1024);
    expect(workerHeapMiB(cpu, undefined, 24 * gib)).toBe(4096);
    expect(workerHeapMiB(h200, 2048, 24 * gib)).toBe(2048);
  });

  it('rejects an unknown profile at intake, listing the known ones', () => {
    const parsed = contracts.trialSpec.parse({ ...spec, device_profile: 'tpu-v9' });
    expect(() => resolveTrialSpec(parsed)).toThrowError(
      'trial.device_profile must be one of cpu, t4-16gb, a100-80gb, h200, got "tpu-v9"',
    );
  });

  it('uses the profile batch unless hparams.batch_size overrides it', () => {
    expect(resolveTrialSpec(contracts.trialSpec.parse(spec)).batchSize).toBe(64);
    const fixed = contracts.trialSpec.parse({ ...spec, hparams: { batch_size: 24 } });
    expect(resolveTrialSpec(fixed).batchSize).toBe(24);
  });

  it('rejects a min_batch_size above the batch size, naming the field', () => {
    const bad = contracts.trialSpec.parse({
      ...spec,
      hparams: { batch_size: 16, min_batch_size: 32 },
    });
    expect(() => resolveTrialSpec(bad)).toThrowError(
      'trial.hparams.min_batch_size must be at most the batch size 16, got 32',
    );
  });

  it('fills the policy defaults of a spec that names none', () => {
    const trial = resolveTrialSpec(contracts.trialSpec.parse(spec));
    expect(trial).toMatchObject({
      patience: 2,
      minDelta: 0,
      warmupEpochs: 0,
      baseline: null,
      maxFailures: 2,
      minBatchSize: 1,
      budgetMs: 60_000,
    });
  });
});
