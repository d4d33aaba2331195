import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { TailBuffer } from '../src/worker-protocol/tail-buffer.js';
import { launchWorker, type WorkerProcess } from '../src/worker-protocol/worker-launcher.js';
import { classifyExit, WorkerExitCode } from '../src/worker-protocol/worker-exit.js';
import { uniqueTrialId } from './fixtures/worker/worker-harness.js';

const exhaustHeap = fileURLToPath(new URL('./fixtures/worker/exhaust-heap.mjs', import.meta.url));
// Nothing listens here: these workers are killed or die before they would talk.
const endpoints = {
  controlEndpoint: 'tcp://127.0.0.1:9',
  heartbeatEndpoint: 'tcp://127.0.0.1:9',
};

describe('launchWorker', () => {
  const running: WorkerProcess[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.terminate(1_000)));
  });

  async function launch(options: { entry?: string; maxOldSpaceSizeMb?: number } = {}) {
    const worker = await launchWorker({
      trialId: uniqueTrialId('launcher'),
      attempt: 1,
      ...endpoints,
      logger: silentLogger,
      ...options,
    });
    running.push(worker);
    return worker;
  }

  it('classifies a real V8 heap exhaustion as oom from its stderr', async () => {
    const worker = await launch({ entry: exhaustHeap, maxOldSpaceSizeMb: 32 });
    const exit = await worker.exited;
    expect(exit.classification).toBe('oom');
    expect(exit.stderrTail).toMatch(/heap out of memory|Reached heap limit/);
  });

  it('classifies a worker ended by SIGKILL as killed', async () => {
    const worker = await launch();
    expect(worker.pid).toBeGreaterThan(0);
    expect(worker.kill('SIGKILL')).toBe(true);
    await expect(worker.exited).resolves.toMatchObject({
      signal: 'SIGKILL',
      classification: 'killed',
    });
    expect(worker.kill()).toBe(false);
  });

  it('terminate() ends a running worker and resolves with its exit', async () => {
    const worker = await launch();
    const exit = await worker.terminate(1_000);
    expect(exit.classification).toBe('killed');
    await expect(worker.exited).resolves.toBe(exit);
  });

  it('reports a missing entry script as a crash with the loader error in stderr', async () => {
    const worker = await launch({ entry: '/nonexistent/automat0-worker.js' });
    const exit = await worker.exited;
    expect(exit).toMatchObject({ code: 1, classification: 'crashed' });
    expect(exit.stderrTail).toContain('Cannot find module');
  });

  it('rejects with WORKER_START_FAILED when the runtime cannot be spawned', async () => {
    const error = await launchWorker({
      trialId: uniqueTrialId('launcher'),
      attempt: 1,
      ...endpoints,
      logger: silentLogger,
      entry: exhaustHeap,
      // A missing working directory makes spawn itself fail (ENOENT).
      cwd: '/nonexistent/automat0-cwd',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutomatError);
    expect((error as AutomatError).code).toBe(ErrorCodes.WORKER_START_FAILED);
  });
});

describe('classifyExit', () => {
  it.each([
    [0, null, '', 'clean'],
    [1, null, 'Error: boom', 'crashed'],
    [null, 'SIGTERM', '', 'killed'],
    [WorkerExitCode.outOfMemory, null, '', 'oom'],
    [134, 'SIGABRT', 'FATAL ERROR: Reached heap limit Allocation failed', 'oom'],
    [1, null, 'RuntimeError: Aborted(OOM). Out of memory', 'oom'],
    [1, null, 'RangeError: Array buffer allocation failed', 'oom'],
  ] as const)('code %s signal %s stderr %j → %s', (code, signal, stderr, expected) => {
    expect(classifyExit(code, signal, stderr)).toBe(expected);
  });
});

describe('TailBuffer', () => {
  it('keeps only the last bytes written', () => {
    const tail = new TailBuffer(8);
    tail.write(Buffer.from('abcdef'));
    tail.write(Buffer.from('ghij'));
    expect(tail.text()).toBe('cdefghij');
    tail.write(Buffer.from('0123456789'));
    expect(tail.text()).toBe('23456789');
  });
});
