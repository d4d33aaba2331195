import { Pull, Push } from 'zeromq';
import { systemClock, type Clock } from '../clock/clock.js';
import type { ControlMessage, Heartbeat } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import { ChannelClosedError } from './channel-error.js';
import { newChannelKeys, serverSocketOptions, type ChannelKeys } from './channel-keys.js';
import { decodeHeartbeat, encodeControl, type ControlInput } from './frame-codec.js';
import { MessageQueue } from './message-queue.js';
import { StampedSender } from './stamped-sender.js';
import { translateZmqError } from './zmq-error.js';

export interface TrialChannelOptions {
  trialId: string;
  attempt: number;
  logger: Logger;
  /** Interface both sockets bind on; ports are chosen by the OS. Default `127.0.0.1`. */
  host?: string;
  /** `seq` of the first control message, so a retry can continue the trial's count. Default 0. */
  firstSeq?: number;
  /**
   * How long `send()` waits for a connected worker to take a message before it fails with
   * AUTOMAT_E_WORKER_TIMEOUT. Default 30 000 ms.
   */
  sendTimeoutMs?: number;
  /** Largest heartbeat frame accepted; a peer sending more is disconnected. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Source of `ts`. Default the system clock. */
  clock?: Clock;
  /**
   * Require CURVE (see channel-keys.ts): only a peer given `keys.serverPublicKey` can connect.
   * Default true; tests of the plain-socket behaviour turn it off.
   */
  secure?: boolean;
}

/**
 * The executor's side of one trial attempt's ZeroMQ link. It binds a PUSH socket (control →
 * worker) and a PULL socket (heartbeats ← worker) on OS-chosen ports; the worker connects to
 * both `controlEndpoint` and `heartbeatEndpoint`.
 *
 * Heartbeats are buffered from the moment `open()` returns and read with `heartbeats()`, an
 * async iterator for one consumer that ends when the channel closes. Frames that are not
 * valid JSON, fail the heartbeat contract, or carry another trial id or attempt are dropped,
 * counted in `droppedFrames` and logged at warn; they never reach the consumer.
 */
export class TrialChannel {
  readonly trialId: string;
  readonly attempt: number;
  readonly controlEndpoint: string;
  readonly heartbeatEndpoint: string;
  /** The key the worker needs to connect; undefined when the channel is not secure. */
  readonly workerKey: string | undefined;

  readonly #push: Push;
  readonly #pull: Pull;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #queue = new MessageQueue<Heartbeat>();
  #dropped = 0;
  readonly #sender: StampedSender<ControlInput, ControlMessage>;
  #receiving: Promise<void> = Promise.resolve();
  #closedBecause: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    options: TrialChannelOptions,
    push: Push,
    pull: Pull,
    keys: ChannelKeys | undefined,
  ) {
    this.workerKey = keys?.serverPublicKey;
    this.trialId = options.trialId;
    this.attempt = options.attempt;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ trialId: options.trialId, attempt: options.attempt });
    this.#push = push;
    this.#sender = new StampedSender({
      push,
      trialId: options.trialId,
      attempt: options.attempt,
      firstSeq: options.firstSeq ?? 0,
      clock: this.#clock,
      log: this.#log,
      encode: encodeControl,
      closedError: () =>
        this.#closedBecause && new ChannelClosedError('trial channel', this.#closedBecause),
    });
    this.#pull = pull;
    this.controlEndpoint = endpointOf(push);
    this.heartbeatEndpoint = endpointOf(pull);
  }

  /** Binds both sockets. Throws a ChannelError (AUTOMAT_E_WORKER_START_FAILED) if it cannot. */
  static async open(options: TrialChannelOptions): Promise<TrialChannel> {
    const address = `tcp://${options.host ?? '127.0.0.1'}:*`;
    // linger 0: close() must never wait for a worker that is gone. A control message still
    // queued when the channel closes is therefore lost, which is what closing means here.
    const keys = options.secure === false ? undefined : newChannelKeys();
    const curve = keys ? serverSocketOptions(keys) : {};
    const push = new Push({ linger: 0, sendTimeout: options.sendTimeoutMs ?? 30_000, ...curve });
    const pull = new Pull({
      linger: 0,
      maxMessageSize: options.maxFrameBytes ?? 1024 * 1024,
      ...curve,
    });
    try {
      await push.bind(address);
      await pull.bind(address);
    } catch (error) {
      push.close();
      pull.close();
      throw translateZmqError(error, `bind trial channel on ${address}`);
    }
    const channel = new TrialChannel(options, push, pull, keys);
    channel.#receiving = channel.#receiveLoop();
    if (keys) {
      watchHandshakes(push, 'control', channel.#log);
      watchHandshakes(pull, 'heartbeat', channel.#log);
    }
    channel.#log.info('trial channel opened', {
      controlEndpoint: channel.controlEndpoint,
      heartbeatEndpoint: channel.heartbeatEndpoint,
    });
    return channel;
  }

  /** Heartbeat frames dropped so far because they were invalid or addressed elsewhere. */
  get droppedFrames(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closedBecause !== undefined;
  }

  /**
   * Stamps `trial_id`, `attempt`, `seq` and `ts`, validates, and queues the message for the
   * worker; resolves with the message as sent once ZeroMQ has taken it. Sends are serialised.
   * Until a worker connects, the message waits up to `sendTimeoutMs`. A message that breaks
   * the control contract rejects with a ValidationError and uses up no `seq`.
   */
  send(input: ControlInput): Promise<ControlMessage> {
    return this.#sender.send(input);
  }

  /**
   * Validated heartbeats in arrival order, for one consumer. Ends when the channel closes, or
   * rejects with the receive error that broke it; an aborted `signal` rejects with its reason.
   */
  heartbeats(options: { signal?: AbortSignal } = {}): AsyncGenerator<Heartbeat, void, undefined> {
    return this.#queue.drain(options.signal);
  }

  /** The next heartbeat, or `undefined` once the channel has closed and nothing is left. */
  async nextHeartbeat(signal?: AbortSignal): Promise<Heartbeat | undefined> {
    const result = await this.#queue.next(signal);
    return result.done ? undefined : result.value;
  }

  /** Closes both sockets; idempotent, and every call returns the same promise. */
  close(reason = 'closed by its owner'): Promise<void> {
    this.#closing ??= this.#shutdown(reason);
    return this.#closing;
  }

  async #shutdown(reason: string): Promise<void> {
    this.#closedBecause = new Error(reason);
    this.#push.close();
    this.#pull.close();
    await this.#receiving;
    this.#queue.end();
    this.#log.info('trial channel closed', { reason, droppedFrames: this.#dropped });
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
      const failure = translateZmqError(error, 'receive heartbeat');
      this.#log.error('trial channel receive failed', { error: failure.message });
      this.#queue.end(failure);
    }
  }

  #accept(frames: Buffer[]): void {
    const [frame] = frames;
    if (frames.length !== 1 || frame === undefined) {
      this.#drop('expected exactly one frame per message', { frames: frames.length });
      return;
    }
    let heartbeat: Heartbeat;
    try {
      heartbeat = decodeHeartbeat(frame);
    } catch (error) {
      this.#drop(error instanceof Error ? error.message : String(error), { bytes: frame.length });
      return;
    }
    if (heartbeat.trial_id !== this.trialId || heartbeat.attempt !== this.attempt) {
      this.#drop('heartbeat is for another trial attempt', {
        gotTrialId: heartbeat.trial_id,
        gotAttempt: heartbeat.attempt,
      });
      return;
    }
    this.#log.debug('heartbeat received', { type: heartbeat.type, seq: heartbeat.seq });
    this.#queue.push(heartbeat);
  }

  #drop(reason: string, meta: Record<string, unknown>): void {
    this.#dropped += 1;
    this.#log.warn('heartbeat frame dropped', { reason, ...meta });
  }
}

function endpointOf(socket: Push | Pull): string {
  const endpoint = socket.lastEndpoint;
  if (endpoint === null) throw new Error('a bound ZeroMQ socket reported no endpoint');
  return endpoint;
}

/**
 * A peer that fails the CURVE handshake is a foreign process, or a worker of an earlier attempt
 * holding an old key: it is refused by ZeroMQ, and logged here so an operator can see it.
 */
function watchHandshakes(socket: Push | Pull, role: string, log: Logger): void {
  const refused = (reason: string) => (event: { address: string; error?: Error }) =>
    log.warn('peer refused at the channel handshake', {
      socket: role,
      address: event.address,
      reason,
      error: event.error?.message,
    });
  socket.events.on('handshake:error:protocol', refused('protocol'));
  socket.events.on('handshake:error:auth', refused('auth'));
  socket.events.on('handshake:error:other', refused('other'));
}
