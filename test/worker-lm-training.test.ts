import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpochMessage, FinalMessage, Heartbeat } from '../src/contracts/index.js';
import { writeShards } from '../src/ingest/shard-writer.js';
import {
  collectUntilFinal,
  startTrial,
  tempDir,
  trainRequest,
  type RunningTrial,
} from './fixtures/worker/worker-harness.js';

const VOCAB = 64;
const SEQ_LEN = 16;

/**
 * Generation shards of a learnable toy language: each id is followed by (id × 5 + 3) mod 64 with
 * probability 0.85, else by a random id. A model that learns the successor table gets far below
 * the uniform perplexity of 64.
 */
async function writeToyLanguage(dir: string, columns = SEQ_LEN + 1): Promise<string> {
  let state = 11;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const split = (rows: number) => {
    const tokens = new Int32Array(rows * columns);
    let id = 0;
    for (let i = 0; i < tokens.length; i++) {
      id = random() < 0.85 ? (id * 5 + 3) % VOCAB : Math.floor(random() * VOCAB);
      tokens[i] = id;
    }
    return { rows, tokens };
  };
  const written = await writeShards({
    dir: join(dir, 'shards'),
    header: {
      key: 'toy-language',
      task_type: 'generation',
      seq_len: columns,
      tokenizer: { ref: 'toy-ids', sha256: '0'.repeat(64), vocab_size: VOCAB, pad_id: 0 },
      dataset: { uri: 'synthetic://toy-language', sha256: '0'.repeat(64), rows: 1, bad_lines: 0 },
      labels: [],
      split: { seed: 1, val_fraction: 0.2 },
    },
    train: split(300),
    validation: split(60),
  });
  return written.manifestPath;
}

const generation = {
  task_type: 'generation',
  seq_len: SEQ_LEN,
  embed_dim: 16,
  vocab_size: VOCAB,
  num_labels: 0,
  primary_metric: 'val_perplexity',
} as const;

function epochsOf(heartbeats: Heartbeat[]): EpochMessage[] {
  return heartbeats.filter((h): h is EpochMessage => h.type === 'heartbeat.epoch');
}

function metric(epoch: EpochMessage, name: string): number {
  return (epoch.metrics as Record<string, number>)[name] as number;
}

describe('training worker: language model', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let manifest: string;
  const trials: RunningTrial[] = [];

  beforeEach(async () => {
    dir = await tempDir('worker-lm');
    manifest = await writeToyLanguage(dir.path);
  });

  afterEach(async () => {
    await Promise.all(trials.splice(0).map((t) => t.close()));
    await dir.remove();
  });

  async function train(
    overrides: Parameters<typeof trainRequest>[2] = {},
    path = manifest,
  ): Promise<{ heartbeats: Heartbeat[]; final: FinalMessage; checkpointDir: string }> {
    const trial = await startTrial('lm');
    trials.push(trial);
    const checkpointDir = join(dir.path, 'checkpoints', trial.trialId);
    await trial.channel.send(
      trainRequest(path, checkpointDir, {
        ...overrides,
        model: { ...generation, ...overrides.model },
        hparams: { epochs: 3, batch_size: 16, learning_rate: 0.01, ...overrides.hparams },
      }),
    );
    return { ...(await collectUntilFinal(trial.channel, 60_000)), checkpointDir };
  }

  it('learns the toy language: val_perplexity is exp(val_loss) per token and falls', async () => {
    const { heartbeats, final, checkpointDir } = await train();
    expect(heartbeats[0]).toMatchObject({ type: 'heartbeat.hello', tokenizer_ref: 'toy-ids' });
    const epochs = epochsOf(heartbeats);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const epoch of epochs) {
      expect(metric(epoch, 'val_perplexity')).toBeCloseTo(Math.exp(metric(epoch, 'val_loss')), 6);
      expect(epoch.metrics.primary).toBe(metric(epoch, 'val_perplexity'));
      // Every step trains batch × seq_len target tokens.
      expect(epoch.metrics.tokens_per_s).toBeGreaterThan(0);
    }
    const perplexity = epochs.map((e) => metric(e, 'val_perplexity'));
    expect(perplexity[0]).toBeLessThan(VOCAB);
    expect(perplexity[2]).toBeLessThan(perplexity[0] as number);
    expect(perplexity[2]).toBeLessThan(VOCAB / 4);
    // Lower is better for perplexity, so the best epoch is the minimum.
    const best = Math.min(...perplexity);
    expect(final).toMatchObject({
      status: 'completed',
      epochs_completed: 3,
      best_metric: { name: 'val_perplexity', value: best, epoch: perplexity.indexOf(best) + 1 },
    });

    const folder = join(checkpointDir, 'epoch-3');
    expect((await readdir(folder)).sort()).toEqual([
      'checkpoint.json',
      'optimizer.bin',
      'weights.bin',
    ]);
    const header = JSON.parse(await readFile(join(folder, 'checkpoint.json'), 'utf8'));
    expect(header).toMatchObject({ epoch: 3, model: generation });
    expect(header.metrics.val_perplexity).toBe(perplexity[2]);
    for (const file of header.files as Array<{ file: string; bytes: number; sha256: string }>) {
      const bytes = await readFile(join(folder, file.file));
      expect(bytes.length).toBe(file.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    }
  });

  it('reports val_loss as the primary metric when the trial asks for it', async () => {
    const { heartbeats, final } = await train({
      model: { primary_metric: 'val_loss' },
      hparams: { epochs: 1 },
    });
    const [epoch] = epochsOf(heartbeats);
    expect(epoch?.metrics.primary).toBe(epoch?.metrics.val_loss);
    expect(final.best_metric.name).toBe('val_loss');
  });

  it('refuses blocks that are not seq_len + 1 wide, naming both numbers', async () => {
    const narrow = await writeToyLanguage(join(dir.path, 'narrow'), SEQ_LEN);
    const { final } = await train({}, narrow);
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('AUTOMAT_E_DATASET_INVALID');
    expect(final.error?.message).toContain(`blocks of ${SEQ_LEN} ids`);
    expect(final.error?.message).toContain(`needs ${SEQ_LEN + 1}`);
  });

  it('refuses generation shards for a classification model', async () => {
    const { final } = await train({
      model: { task_type: 'classification', num_labels: 2, primary_metric: 'val_accuracy' },
    });
    expect(final.status).toBe('failed');
    expect(final.error?.message).toMatch(
      /shards hold generation data but model.task_type is classification/,
    );
  });
});
