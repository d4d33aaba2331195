import { Pull, Push } from 'zeromq';
import { systemClock, type Clock } from '../clock/clock.js';
import type { ControlMessage, Heartbeat } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import { ChannelClosedError } from './channel-error.js';
import { clientSocketOptions } from './channel-keys.js';
import { decodeControl, encodeHeartbeat, type HeartbeatInput } from './frame-codec.js';
import { MessageQueue } from './message-queue.js';
import { StampedSender } from './stamped-sender.js';
import { translateZmqError } from './zmq-error.js';

export interface WorkerEndpointOptions {
  controlEndpoint: string;
  heartbeatEndpoint: string;
  trialId: string;
  attempt: number;
  logger: Logger;
  /**
   * How long heartbeats still queued at `close()` are kept for delivery; the process waits for
   * them at exit, so the final heartbeat is not lost. Default 5 000 ms.
   */
  lingerMs?: number;
  /** Largest control frame accepted. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Source of `ts`. Default the system clock. */
  clock?: Clock;
  /** The channel's CURVE server key (see channel-keys.ts); unset for a plain channel. */
  channelKey?: string;
}

/**
 * The worker's side of the link: connects a PULL socket to the executor's control endpoint and
 * a PUSH socket to its heartbeat endpoint. Control messages are validated, and those for
 * another trial id or attempt dropped with a warning, before `controlMessages()` yields them.
 * `send()` stamps heartbeats with the worker's own `seq` counter, starting at 0.
 */
export class WorkerEndpoint {
  readonly trialId: string;
  readonly attempt: number;

  readonly #push: Push;
  readonly #pull: Pull;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #queue = new MessageQueue<ControlMessage>();
  readonly #sender: StampedSender<HeartbeatInput, Heartbeat>;
  #receiving: Promise<void> = Promise.resolve();
  #closedBecause: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: WorkerEndpointOptions, push: Push, pull: Pull) {
    this.trialId = options.trialId;
    this.attempt = options.attempt;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ trialId: options.trialId, attempt: options.attempt });
    this.#push = push;
    this.#sender = new StampedSender({
      push,
      trialId: options.trialId,
      attempt: options.attempt,
      firstSeq: 0,
      clock: this.#clock,
      log: this.#log,
      encode: encodeHeartbeat,
      closedError: () =>
        this.#closedBecause && new ChannelClosedError('worker endpoint', this.#closedBecause),
    });
    this.#pull = pull;
  }

  /** Connects both sockets; ZeroMQ retries in the background until the executor is there. */
  static connect(options: WorkerEndpointOptions): WorkerEndpoint {
    const curve = options.channelKey ? clientSocketOptions(options.channelKey) : {};
    const push = new Push({ linger: options.lingerMs ?? 5_000, ...curve });
    const pull = new Pull({
      linger: 0,
      maxMessageSize: options.maxFrameBytes ?? 1024 * 1024,
      ...curve,
    });
    try {
      pull.connect(options.controlEndpoint);
      push.connect(options.heartbeatEndpoint);
    } catch (error) {
      push.close();
      pull.close();
      throw translateZmqError(error, 'connect worker endpoint');
    }
    const endpoint = new WorkerEndpoint(options, push, pull);
    endpoint.#receiving = endpoint.#receiveLoop();
    endpoint.#log.debug('worker endpoint connected', {
      controlEndpoint: options.controlEndpoint,
      heartbeatEndpoint: options.heartbeatEndpoint,
    });
    return endpoint;
  }

  /** Validated control messages in arrival order; ends when the endpoint closes. */
  controlMessages(
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ControlMessage, void, undefined> {
    return this.#queue.drain(options.signal);
  }

  /** Stamps, validates and queues a heartbeat; sends are serialised. */
  send(input: HeartbeatInput): Promise<Heartbeat> {
    return this.#sender.send(input);
  }

  /**
   * Waits for queued sends, then closes both sockets. Idempotent: every call returns the same
   * promise. Heartbeats not yet delivered linger for `lingerMs` in ZeroMQ's I/O thread.
   */
  close(reason = 'closed by the worker'): Promise<void> {
    this.#closing ??= this.#shutdown(reason);
    return this.#closing;
  }

  async #shutdown(reason: string): Promise<void> {
    this.#closedBecause = new Error(reason);
    await this.#sender.drained;
    this.#pull.close();
    this.#push.close();
    await this.#receiving;
    this.#queue.end();
    this.#log.debug('worker endpoint closed', { reason });
  }

  async #receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.#pull) this.#accept(frames);
      this.#queue.end();
    } catch (error) {
      if (this.#closedBecause) {
        this.#queue.end();
        return;
      }
      const failure = translateZmqError(error, 'receive control message');
      this.#log.error('worker endpoint receive failed', { error: failure.message });
      this.#queue.end(failure);
    }
  }

  #accept(frames: Buffer[]): void {
    const [frame] = frames;
    if (frames.length !== 1 || frame === undefined) {
      this.#log.warn('control frame dropped', {
        reason: 'expected one frame',
        frames: frames.length,
      });
      return;
    }
    let message: ControlMessage;
    try {
      message = decodeControl(frame);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#log.warn('control frame dropped', { reason, bytes: frame.length });
      return;
    }
    if (message.trial_id !== this.trialId || message.attempt !== this.attempt) {
      this.#log.warn('control frame dropped', {
        reason: 'message is for another trial attempt',
        gotTrialId: message.trial_id,
        gotAttempt: message.attempt,
      });
      return;
    }
    this.#log.debug('control message received', { type: message.type, seq: message.seq });
    this.#queue.push(message);
  }
}
