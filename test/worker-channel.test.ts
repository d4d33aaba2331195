import { afterEach, describe, expect, it } from 'vitest';
import { Pull } from 'zeromq';
import { contracts } from '../src/contracts/index.js';
import { ErrorCodes, ValidationError } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { ChannelError } from '../src/worker-protocol/channel-error.js';
import { clientSocketOptions } from '../src/worker-protocol/channel-keys.js';
import { TrialChannel } from '../src/worker-protocol/trial-channel.js';
import { uniqueTrialId } from './fixtures/worker/worker-harness.js';

describe('TrialChannel', () => {
  const channels: TrialChannel[] = [];

  async function open(options: { sendTimeoutMs?: number; firstSeq?: number } = {}) {
    const trialId = uniqueTrialId('channel');
    const channel = await TrialChannel.open({
      trialId,
      attempt: 1,
      logger: silentLogger,
      ...options,
    });
    channels.push(channel);
    return channel;
  }

  afterEach(async () => {
    await Promise.all(channels.splice(0).map((c) => c.close()));
  });

  it('binds loopback endpoints with OS-chosen ports', async () => {
    const channel = await open();
    expect(channel.controlEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(channel.heartbeatEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(channel.controlEndpoint).not.toBe(channel.heartbeatEndpoint);
  });

  it('stamps trial, attempt, seq and ts on what it sends, in order', async () => {
    const channel = await open({ firstSeq: 10 });
    const peer = new Pull({ linger: 0, ...clientSocketOptions(channel.workerKey ?? '') });
    peer.connect(channel.controlEndpoint);
    try {
      const cancel = { type: 'control.cancel_after_epoch', reason: 'r' } as const;
      await Promise.all([channel.send(cancel), channel.send(cancel)]);
      const received = [];
      for (let i = 0; i < 2; i++) {
        const [frame] = await peer.receive();
        received.push(contracts.control.parseJson(frame ?? Buffer.alloc(0)));
      }
      expect(received.map((m) => m.seq)).toEqual([10, 11]);
      expect(received[0]).toMatchObject({ trial_id: channel.trialId, attempt: 1, reason: 'r' });
      expect(Number.isNaN(Date.parse(received[0]?.ts ?? ''))).toBe(false);
    } finally {
      peer.close();
    }
  });

  it('refuses to send a message that breaks its contract', async () => {
    const channel = await open();
    const bad = { type: 'control.cancel_after_epoch' } as unknown as Parameters<
      TrialChannel['send']
    >[0];
    const error = await channel.send(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_MESSAGE });
  });

  it('fails a send with WORKER_TIMEOUT when no worker takes it in time', async () => {
    const channel = await open({ sendTimeoutMs: 200 });
    const error = await channel
      .send({ type: 'control.cancel_after_epoch', reason: 'nobody there' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: ErrorCodes.WORKER_TIMEOUT, zmqCode: 'EAGAIN' });
  });

  it('close() is idempotent, ends the heartbeat stream and frees waiting readers', async () => {
    const channel = await open();
    const waiting = channel.nextHeartbeat();
    const first = channel.close('test done');
    expect(channel.close()).toBe(first);
    await first;
    await expect(waiting).resolves.toBeUndefined();
    const drained = [];
    for await (const heartbeat of channel.heartbeats()) drained.push(heartbeat);
    expect(drained).toEqual([]);
    await expect(
      channel.send({ type: 'control.cancel_after_epoch', reason: 'late' }),
    ).rejects.toMatchObject({ code: ErrorCodes.ILLEGAL_STATE, message: /test done/ });
  });

  it('an aborted signal stops a heartbeat wait with its reason', async () => {
    const channel = await open();
    const controller = new AbortController();
    const waiting = channel.nextHeartbeat(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });
});
