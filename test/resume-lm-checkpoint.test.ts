import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpochMessage, Heartbeat, HelloMessage } from '../src/contracts/index.js';
import { writeShards } from '../src/ingest/shard-writer.js';
import {
  collectUntilFinal,
  startTrial,
  tempDir,
  trainRequest,
  type RunningTrial,
} from './fixtures/worker/worker-harness.js';

const VOCAB = 48;
const SEQ_LEN = 12;
const model = {
  task_type: 'generation',
  seq_len: SEQ_LEN,
  embed_dim: 16,
  vocab_size: VOCAB,
  num_labels: 0,
  primary_metric: 'val_perplexity',
} as const;

/** Toy generation shards: each id is usually followed by (id × 7 + 1) mod 48. */
async function writeToyShards(dir: string): Promise<string> {
  let state = 5;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const split = (rows: number) => {
    const tokens = new Int32Array(rows * (SEQ_LEN + 1));
    for (let i = 1; i < tokens.length; i++) {
      const previous = tokens[i - 1] as number;
      tokens[i] = random() < 0.8 ? (previous * 7 + 1) % VOCAB : Math.floor(random() * VOCAB);
    }
    return { rows, tokens };
  };
  const written = await writeShards({
    dir: join(dir, 'shards'),
    header: {
      key: 'toy-resume',
      task_type: 'generation',
      seq_len: SEQ_LEN + 1,
      tokenizer: { ref: 'toy-ids', sha256: '0'.repeat(64), vocab_size: VOCAB, pad_id: 0 },
      dataset: { uri: 'synthetic://toy-resume', sha256: '0'.repeat(64), rows: 1, bad_lines: 0 },
      labels: [],
      split: { seed: 1, val_fraction: 0.2 },
    },
    train: split(200),
    validation: split(40),
  });
  return written.manifestPath;
}

function epochs(heartbeats: Heartbeat[]): EpochMessage[] {
  return heartbeats.filter((h): h is EpochMessage => h.type === 'heartbeat.epoch');
}

describe('resuming a language model from its checkpoint', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let manifest: string;
  const trials: RunningTrial[] = [];

  beforeEach(async () => {
    dir = await tempDir('resume-lm');
    manifest = await writeToyShards(dir.path);
  });

  afterEach(async () => {
    await Promise.all(trials.splice(0).map((t) => t.close()));
    await dir.remove();
  });

  async function run(
    checkpointDir: string,
    epochCount: number,
    options: { attempt?: number; resumeFrom?: string; embedDim?: number } = {},
  ) {
    const trial = await startTrial('resume-lm', { attempt: options.attempt ?? 1 });
    trials.push(trial);
    await trial.channel.send(
      trainRequest(manifest, checkpointDir, {
        ...(options.resumeFrom ? { resume_from: options.resumeFrom } : {}),
        model: { ...model, embed_dim: options.embedDim ?? model.embed_dim },
        hparams: { epochs: epochCount, batch_size: 8, learning_rate: 0.01, seed: 3 },
      }),
    );
    return collectUntilFinal(trial.channel, 60_000);
  }

  it('continues at the next epoch with the saved optimizer state, as if never stopped', async () => {
    const straight = await run(join(dir.path, 'straight'), 3);
    const interrupted = join(dir.path, 'interrupted');
    const before = await run(interrupted, 2);
    const after = await run(interrupted, 3, {
      attempt: 2,
      resumeFrom: join(interrupted, 'epoch-2'),
    });

    expect((after.heartbeats[0] as HelloMessage).start_epoch).toBe(3);
    // Metrics continue without a gap or a repeat: epochs 1-2, then 3.
    expect(epochs(before.heartbeats).map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs(after.heartbeats).map((e) => e.epoch)).toEqual([3]);

    const saved = JSON.parse(
      await readFile(join(interrupted, 'epoch-2', 'checkpoint.json'), 'utf8'),
    );
    const resumed = epochs(after.heartbeats)[0] as EpochMessage;
    const uninterrupted = epochs(straight.heartbeats)[2] as EpochMessage;
    // Close to the loss saved with epoch 2, nowhere near a fresh model's ln(48) ≈ 3.87 ...
    expect(resumed.metrics.train_loss as number).toBeLessThan(saved.metrics.train_loss * 1.05);
    expect(resumed.metrics.train_loss as number).toBeLessThan(Math.log(VOCAB) * 0.75);
    // ... and the same as training three epochs in one go: the same weights, Adam moments and
    // step count, and the same data order for epoch 3.
    for (const name of ['train_loss', 'val_loss', 'val_perplexity', 'val_accuracy']) {
      const ours = (resumed.metrics as Record<string, number>)[name] as number;
      const theirs = (uninterrupted.metrics as Record<string, number>)[name] as number;
      expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(theirs)));
    }
    expect(after.final).toMatchObject({ status: 'completed', epochs_completed: 3 });
    expect(after.final.best_metric.epoch).toBe(straight.final.best_metric.epoch);
  });

  it('refuses a checkpoint whose weights do not match its manifest checksum', async () => {
    const checkpointDir = join(dir.path, 'damaged');
    await run(checkpointDir, 1);
    const weights = join(checkpointDir, 'epoch-1', 'weights.bin');
    const bytes = await readFile(weights);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    await writeFile(weights, bytes);

    const { final } = await run(checkpointDir, 2, {
      attempt: 2,
      resumeFrom: join(checkpointDir, 'epoch-1'),
    });
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('AUTOMAT_E_ARTIFACT_NOT_FOUND');
    expect(final.error?.message).toMatch(
      /weights\.bin holds \d+ bytes with sha256 \w+; the manifest says/,
    );
  });

  it('refuses a checkpoint written for another model, naming the field', async () => {
    const checkpointDir = join(dir.path, 'other-model');
    await run(checkpointDir, 1);
    const { final } = await run(checkpointDir, 2, {
      attempt: 2,
      resumeFrom: join(checkpointDir, 'epoch-1'),
      embedDim: 32,
    });
    expect(final.status).toBe('failed');
    expect(final.error?.message).toMatch(/written for model\.embed_dim 16, this request has 32/);
  });
});
