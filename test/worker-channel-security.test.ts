import { afterEach, describe, expect, it } from 'vitest';
import { Pull, Push } from 'zeromq';
import type { Logger } from '../src/log/logger.js';
import { silentLogger } from '../src/log/logger.js';
import { clientSocketOptions } from '../src/worker-protocol/channel-keys.js';
import { encodeHeartbeat } from '../src/worker-protocol/frame-codec.js';
import { TrialChannel } from '../src/worker-protocol/trial-channel.js';
import { uniqueTrialId } from './fixtures/worker/worker-harness.js';

/** A logger that keeps its warn lines, to check that refusals are reported. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    ...silentLogger,
    warnings,
    warn: (message) => warnings.push(message),
    child: () => logger,
  };
  return logger;
}

const hello = {
  type: 'heartbeat.hello',
  actual_batch: 8,
  tokenizer_ref: 'llama2',
  pid: 4242,
  start_epoch: 1,
} as const;

describe('a trial channel admits only the worker given its key', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(logger: Logger = silentLogger) {
    const trialId = uniqueTrialId('secure');
    const channel = await TrialChannel.open({ trialId, attempt: 1, logger, sendTimeoutMs: 1_500 });
    cleanups.push(() => channel.close());
    return { trialId, channel };
  }

  function socket<T extends Push | Pull>(s: T): T {
    cleanups.push(() => s.close());
    return s;
  }

  it('refuses heartbeats from a process without the key, and logs the refusal at warn', async () => {
    const logger = recordingLogger();
    const { trialId, channel } = await open(logger);
    const foreign = socket(new Push({ linger: 0 }));
    foreign.connect(channel.heartbeatEndpoint);
    const frame = encodeHeartbeat(hello, {
      trialId,
      attempt: 1,
      seq: 0,
      ts: new Date().toISOString(),
    });
    void foreign.send(frame.frame).catch(() => undefined);

    const delivered = await channel
      .nextHeartbeat(AbortSignal.timeout(1_500))
      .catch(() => undefined);
    expect(delivered).toBeUndefined();
    expect(logger.warnings).toContain('peer refused at the channel handshake');
  });

  it('refuses a worker holding the key of an earlier attempt', async () => {
    const earlier = await open();
    const { trialId, channel } = await open();
    const stale = socket(
      new Push({ linger: 0, ...clientSocketOptions(earlier.channel.workerKey ?? '') }),
    );
    stale.connect(channel.heartbeatEndpoint);
    const frame = encodeHeartbeat(hello, {
      trialId,
      attempt: 1,
      seq: 0,
      ts: new Date().toISOString(),
    });
    void stale.send(frame.frame).catch(() => undefined);

    const delivered = await channel
      .nextHeartbeat(AbortSignal.timeout(1_500))
      .catch(() => undefined);
    expect(delivered).toBeUndefined();
  });

  it('never hands a control message to a process without the key', async () => {
    const { channel } = await open();
    const thief = socket(new Pull({ linger: 0, receiveTimeout: 1_000 }));
    thief.connect(channel.controlEndpoint);
    await expect(
      channel.send({ type: 'control.cancel_after_epoch', reason: 'test' }),
    ).rejects.toThrow();
    await expect(thief.receive()).rejects.toThrow();
  });

  it('delivers both ways to the peer that has the key', async () => {
    const { trialId, channel } = await open();
    const keyed = clientSocketOptions(channel.workerKey ?? '');
    const control = socket(new Pull({ linger: 0, receiveTimeout: 5_000, ...keyed }));
    const beats = socket(new Push({ linger: 0, ...keyed }));
    control.connect(channel.controlEndpoint);
    beats.connect(channel.heartbeatEndpoint);

    await channel.send({ type: 'control.cancel_after_epoch', reason: 'test' });
    const [received] = await control.receive();
    expect(JSON.parse(String(received))).toMatchObject({ trial_id: trialId, reason: 'test' });
    await beats.send(
      encodeHeartbeat(hello, { trialId, attempt: 1, seq: 0, ts: new Date().toISOString() }).frame,
    );
    const delivered = await channel.nextHeartbeat(AbortSignal.timeout(5_000));
    expect(delivered?.type).toBe('heartbeat.hello');
  });
});
