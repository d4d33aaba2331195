import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Pull, Push } from 'zeromq';
import { contracts } from '../src/contracts/index.js';
import { silentLogger } from '../src/log/logger.js';
import { encodeControl, encodeHeartbeat } from '../src/worker-protocol/frame-codec.js';
import { clientSocketOptions } from '../src/worker-protocol/channel-keys.js';
import { TrialChannel } from '../src/worker-protocol/trial-channel.js';
import { launchWorker, type WorkerProcess } from '../src/worker-protocol/worker-launcher.js';
import { tempDir, trainRequest, uniqueTrialId } from './fixtures/worker/worker-harness.js';

const hello = {
  type: 'heartbeat.hello',
  actual_batch: 8,
  tokenizer_ref: 'synthetic-ids',
  pid: 4242,
  start_epoch: 1,
} as const;

function stamp(trialId: string, attempt: number, seq: number) {
  return { trialId, attempt, seq, ts: new Date().toISOString() };
}

describe('invalid and foreign frames', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('the executor channel drops them, counts them, and keeps delivering valid heartbeats', async () => {
    const trialId = uniqueTrialId('frames');
    const channel = await TrialChannel.open({ trialId, attempt: 2, logger: silentLogger });
    cleanups.push(() => channel.close());
    // The impostor knows the channel key: this test is about frames, not the handshake.
    const impostor = new Push({ linger: 0, ...clientSocketOptions(channel.workerKey ?? '') });
    cleanups.push(() => impostor.close());
    impostor.connect(channel.heartbeatEndpoint);

    await impostor.send('this is not json');
    await impostor.send(JSON.stringify({ type: 'heartbeat.hello', trial_id: trialId }));
    await impostor.send(encodeHeartbeat(hello, stamp('someone-else', 2, 0)).frame);
    await impostor.send(encodeHeartbeat(hello, stamp(trialId, 1, 0)).frame);
    await impostor.send([Buffer.from('{}'), Buffer.from('{}')]);
    await impostor.send(encodeHeartbeat(hello, stamp(trialId, 2, 7)).frame);

    const delivered = await channel.nextHeartbeat(AbortSignal.timeout(10_000));
    expect(delivered).toMatchObject({ type: 'heartbeat.hello', trial_id: trialId, seq: 7 });
    expect(channel.droppedFrames).toBe(5);

    await channel.close();
    await expect(channel.nextHeartbeat()).resolves.toBeUndefined();
    await expect(
      channel.send({ type: 'control.cancel_after_epoch', reason: 'late' }),
    ).rejects.toThrow(/closed/);
    await expect(channel.close()).resolves.toBeUndefined();
  });

  it('the worker ignores them and still obeys the valid control message that follows', async () => {
    const dir = await tempDir('worker-frames');
    cleanups.push(() => dir.remove());
    const trialId = uniqueTrialId('frames');
    const control = new Push({ linger: 0 });
    const heartbeats = new Pull({ linger: 0 });
    cleanups.push(
      () => control.close(),
      () => heartbeats.close(),
    );
    await control.bind('tcp://127.0.0.1:*');
    await heartbeats.bind('tcp://127.0.0.1:*');
    const worker: WorkerProcess = await launchWorker({
      trialId,
      attempt: 1,
      controlEndpoint: control.lastEndpoint ?? '',
      heartbeatEndpoint: heartbeats.lastEndpoint ?? '',
      logger: silentLogger,
    });
    cleanups.push(() => worker.terminate(1_000));

    // A train request for another trial would fail loudly (its manifest does not exist).
    const foreign = trainRequest(join(dir.path, 'missing.json'), join(dir.path, 'ckpt'));
    await control.send('{"type": "control.train"');
    await control.send(JSON.stringify({ type: 'control.launch_missiles', trial_id: trialId }));
    await control.send(encodeControl(foreign, stamp('another-trial', 1, 0)).frame);
    await control.send(encodeControl(foreign, stamp(trialId, 9, 1)).frame);
    const cancel = { type: 'control.cancel_after_epoch', reason: 'only valid one' } as const;
    await control.send(encodeControl(cancel, stamp(trialId, 1, 2)).frame);

    const [frame] = await heartbeats.receive();
    const final = contracts.heartbeat.parseJson(frame ?? Buffer.alloc(0));
    expect(final).toMatchObject({
      type: 'heartbeat.final',
      status: 'cancelled',
      trial_id: trialId,
    });
    await expect(worker.exited).resolves.toMatchObject({ code: 0, classification: 'clean' });
    expect((await worker.exited).stderrTail).toContain('control frame dropped');
  });
});
