import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { waitFor } from './support/wait-for.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat0-run-interrupt-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('automat0 run interrupted from a terminal', () => {
  // Regression: Ctrl-C killed `run` at once (no handler) and its worker with it (same process
  // group), leaving the trial `running` in the local database for ever.
  it('cancels the trial after its current epoch when the whole process group gets SIGINT', async () => {
    const dataset = join(dir, 'data.jsonl');
    await writeSyntheticDataset(dataset, { rows: 3000 });
    const specPath = join(dir, 'spec.json');
    const spec = {
      trial_id: 'interrupted',
      task_type: 'classification',
      tokenizer_ref: 'llama2',
      device_profile: 'cpu',
      seq_len: 32,
      embed_dim: 16,
      budget_seconds: 600,
      dataset_uri: dataset,
      primary_metric: 'val_loss',
      hparams: { epochs: 40, patience: 40 },
    };
    await writeFile(specPath, JSON.stringify(spec));
    const env = {
      ...process.env,
      AUTOMAT_WORK_DIR: join(dir, 'work'),
      AUTOMAT_INPUT_ROOTS: dir,
      AUTOMAT_LOG_LEVEL: 'warn',
    };
    // Its own process group, as a terminal's foreground job: the group gets the SIGINT.
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'run', specPath], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');

    await waitFor(() => /^epoch 1:/m.test(stdout), 60_000, 'epoch 1 printed');
    process.kill(-(child.pid as number), 'SIGINT');
    const [code] = (await exited) as [number | null];

    expect(stderr).toContain('SIGINT: cancelling interrupted after its current epoch');
    expect(code).toBe(0);
    expect(stdout).toMatch(/state\s+cancelled \(stop reason: cancelled\)/);
    const epochs = [...stdout.matchAll(/^epoch (\d+):/gm)].map((m) => Number(m[1]));
    // The epoch under way when Ctrl-C came was finished, and nothing after it.
    expect(epochs.length).toBeGreaterThanOrEqual(1);
    expect(epochs.length).toBeLessThan(40);

    const show = spawn(process.execPath, ['dist/src/cli/main.js', 'show', 'interrupted'], { env });
    let shown = '';
    show.stdout.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    await once(show, 'exit');
    expect(shown).toMatch(/state\s+cancelled/);
  }, 90_000);
});
