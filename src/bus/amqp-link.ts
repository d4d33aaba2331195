import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { translateAmqpError } from './amqp-errors.js';
import { assertBusTopology } from './assert-bus-topology.js';
import type { BusTopology } from './bus-topology.js';
import { closeReason, type CloseReason } from './close-reason.js';
import { redactUrl } from './redact-url.js';

export interface AmqpLinkOptions {
  url: string;
  connectTimeoutMs: number;
  connectionName: string;
  topology: BusTopology;
  clock: Clock;
  log: Logger;
  /** Told once, when the link dies: its connection went away or its consume channel failed. */
  onLost: (link: AmqpLink) => void;
}

/**
 * One connection to the broker with the bus's two long-lived channels: a confirm channel for
 * publishing and a channel for the intake consumer. A link is opened once and never revived;
 * after an outage the bus opens a new one.
 *
 * The consume channel carries the intake's unsettled deliveries, which only it can settle, so a
 * failure of that channel alone (say a broker-side error while the connection lives) abandons the
 * whole link: the bus then reconnects, re-declares the topology and consumes again.
 */
export class AmqpLink {
  readonly connection: ChannelModel;
  readonly #options: AmqpLinkOptions;
  #publishing: ConfirmChannel | undefined;
  #consuming: Channel | undefined;
  #lost: CloseReason | undefined;

  private constructor(connection: ChannelModel, options: AmqpLinkOptions) {
    this.connection = connection;
    this.#options = options;
    this.#watchConnection();
  }

  /**
   * Connects, opens both channels and asserts the topology. Fails with BUS_UNAVAILABLE, or with
   * CONFIG_INVALID when the broker refuses the credentials or holds a different topology; the
   * connection is closed again on any failure.
   */
  static async open(options: AmqpLinkOptions): Promise<AmqpLink> {
    const target = redactUrl(options.url);
    let connection: ChannelModel;
    try {
      // Without noDelay, Nagle's algorithm held a request/reply round trip at 44 ms, not 0.5 ms.
      connection = await amqp.connect(options.url, {
        noDelay: true,
        timeout: options.connectTimeoutMs,
        clientProperties: { connection_name: options.connectionName },
      });
    } catch (error) {
      throw translateAmqpError(error, { operation: `connect to ${target}` });
    }
    const link = new AmqpLink(connection, options);
    let operation = `open channels on ${target}`;
    try {
      await link.#openChannels();
      operation = `declare the bus topology on ${target}`;
      await assertBusTopology(link.publishing, options.topology);
    } catch (error) {
      await link.close();
      throw translateAmqpError(error, { operation });
    }
    return link;
  }

  get publishing(): ConfirmChannel {
    if (!this.#publishing) throw new Error('AmqpLink used before its channels were opened');
    return this.#publishing;
  }

  get consuming(): Channel {
    if (!this.#consuming) throw new Error('AmqpLink used before its channels were opened');
    return this.#consuming;
  }

  /** Why the link died, or undefined while it lives. */
  get lost(): CloseReason | undefined {
    return this.#lost;
  }

  /** Gives the link up for `why` (recorded as the reason it was lost) and closes it. */
  async abandon(subject: string, why: unknown): Promise<void> {
    this.#markLost(closeReason(subject, this.#options.clock.now(), why));
    await this.close();
  }

  /** Closes the connection and with it every channel on it; never throws. */
  async close(): Promise<void> {
    try {
      await this.connection.close();
    } catch (error) {
      this.#options.log.debug('ignored error while closing the connection', {
        error: String(error),
      });
    }
  }

  async #openChannels(): Promise<void> {
    const { log } = this.#options;
    // Every channel gets an error listener before its first command: amqplib throws an error
    // event nobody listens to out of its socket handler.
    this.#publishing = await this.connection.createConfirmChannel();
    this.#publishing.on('error', (error: Error) => {
      log.debug('publish channel error on the link', { reason: error.message });
    });
    this.#consuming = await this.connection.createChannel();
    this.#consuming.on('error', (error: Error) => {
      log.error('consume channel failed; abandoning the connection', { reason: error.message });
      void this.abandon('consume channel', error);
    });
  }

  #watchConnection(): void {
    const { log, clock } = this.#options;
    // A fatal error comes before the close event; a broker's CONNECTION_FORCED comes as a close
    // event only. Either marks the link lost; the first reason wins.
    this.connection.on('error', (error: Error) => {
      this.#markLost(closeReason('connection', clock.now(), error));
    });
    this.connection.on('close', (error?: Error) => {
      const why = error ?? 'the connection closed without an error';
      this.#markLost(closeReason('connection', clock.now(), why));
    });
    this.connection.on('blocked', (reason: string) => {
      log.warn('broker blocked publishing', { reason });
    });
    this.connection.on('unblocked', () => log.info('broker unblocked publishing'));
  }

  #markLost(reason: CloseReason): void {
    if (this.#lost) return;
    this.#lost = reason;
    this.#options.onLost(this);
  }
}
