import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import {
  resolveAmqpBusOptions,
  type AmqpBusOptions,
  type ResolvedAmqpBusOptions,
} from './amqp-bus-options.js';
import { translateAmqpError } from './amqp-errors.js';
import { AmqpIntakeConsumer } from './amqp-intake-consumer.js';
import { AmqpIntakeDelivery } from './amqp-intake-delivery.js';
import { AmqpPublisher } from './amqp-publisher.js';
import { AmqpSubscription } from './amqp-subscription.js';
import { assertBusTopology } from './assert-bus-topology.js';
import type {
  Bus,
  BusHealth,
  BusHealthListener,
  IntakeHandler,
  IntakeOptions,
  Subscription,
  SubscriptionHandler,
} from './bus.js';
import { busTopology, type BusTopology, type BusTopologyNames } from './bus-topology.js';
import { busClosedError, closeReason, type CloseReason } from './close-reason.js';
import { encodeMessage } from './encode-message.js';
import { redactUrl } from './redact-url.js';

/**
 * The RabbitMQ bus: one connection, a confirm channel for every publish (topic messages, intake
 * submissions, dead letters), a second channel for the intake consumer, and one channel per
 * subscription.
 *
 * It does not reconnect. When the broker drops the connection, the bus logs the reason and every
 * later call fails with BUS_CLOSED naming it; the owner must close it and connect a new one.
 * Automatic recovery is left for a later issue.
 */
export class AmqpBus implements Bus {
  readonly #connection: ChannelModel;
  readonly #publisher: AmqpPublisher;
  readonly #consumer: Channel;
  readonly #names: BusTopologyNames;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #closeTimeoutMs: number;
  readonly #subscriptions = new Set<Subscription>();
  readonly #healthListeners = new Set<BusHealthListener>();
  readonly #intake: AmqpIntakeConsumer;
  #consumerClosed: CloseReason | undefined;
  #connectionError: Error | undefined;
  /** Set when the connection dropped without close() being called. */
  #connectionLost: CloseReason | undefined;
  /** Set when close() was called. */
  #stopped: CloseReason | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Connects, opens the channels and asserts the topology. Fails with BUS_UNAVAILABLE, or with
   * CONFIG_INVALID when the broker refuses the credentials or holds a different topology.
   */
  static async connect(options: AmqpBusOptions): Promise<AmqpBus> {
    const resolved = resolveAmqpBusOptions(options);
    const target = redactUrl(resolved.url);
    let connection: ChannelModel;
    try {
      // Without noDelay, Nagle's algorithm held a request/reply round trip at 44 ms, not 0.5 ms.
      connection = await amqp.connect(resolved.url, {
        noDelay: true,
        timeout: resolved.connectTimeoutMs,
        clientProperties: { connection_name: resolved.connectionName },
      });
    } catch (error) {
      throw translateAmqpError(error, { operation: `connect to ${target}` });
    }
    const early = (error: Error) => resolved.logger.debug('bus connection error', { error });
    connection.on('error', early);
    let bus: AmqpBus;
    try {
      const publishing = await connection.createConfirmChannel();
      const consuming = await connection.createChannel();
      connection.off('error', early);
      // The constructor attaches the channels' error listeners before the first declaration, so
      // a refused declaration is recorded rather than thrown from inside amqplib.
      bus = new AmqpBus(connection, publishing, consuming, resolved);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw translateAmqpError(error, { operation: `open channels on ${target}` });
    }
    await bus.#declareTopology(busTopology(resolved.names, resolved), target);
    return bus;
  }

  private constructor(
    connection: ChannelModel,
    publishing: ConfirmChannel,
    consuming: Channel,
    options: ResolvedAmqpBusOptions,
  ) {
    this.#connection = connection;
    this.#consumer = consuming;
    this.#names = options.names;
    this.#clock = options.clock;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.#log = options.logger.child({ component: 'amqp-bus', broker: redactUrl(options.url) });
    this.#publisher = new AmqpPublisher(publishing, {
      clock: this.#clock,
      log: this.#log,
      outranking: () => this.#stopped ?? this.#connectionLost,
    });
    this.#intake = new AmqpIntakeConsumer({
      channel: consuming,
      queue: this.#names.intakeQueue,
      log: this.#log,
      closed: () => this.#consumerClosedReason(),
      delivery: (message) =>
        new AmqpIntakeDelivery(message, {
          channel: this.#consumer,
          publisher: this.#publisher,
          queue: this.#names.intakeQueue,
          deadLetterExchange: this.#names.deadLetterExchange,
          clock: this.#clock,
          log: this.#log,
          closed: () => this.#consumerClosedReason(),
        }),
    });
    this.#watchConnection();
    this.#watchConsumer();
  }

  async #declareTopology(topology: BusTopology, target: string): Promise<void> {
    try {
      await assertBusTopology(this.#publisher.channel, topology);
    } catch (error) {
      const translated = translateAmqpError(error, {
        operation: `declare the bus topology on ${target}`,
      });
      await this.close();
      throw translated;
    }
    this.#log.info('bus connected', { exchange: this.#names.exchange });
  }

  async publish(routingKey: string, message: object): Promise<void> {
    const operation = `publish "${routingKey}"`;
    await this.#publisher.publish({
      exchange: this.#names.exchange,
      routingKey,
      body: encodeMessage(message, operation),
      mandatory: false,
      operation,
      properties: { contentType: 'application/json', persistent: true },
    });
  }

  async submit(message: object | Buffer): Promise<void> {
    const operation = `submit to queue "${this.#names.intakeQueue}"`;
    await this.#publisher.publish({
      exchange: '',
      routingKey: this.#names.intakeQueue,
      body: Buffer.isBuffer(message) ? message : encodeMessage(message, operation),
      // Mandatory: if the queue is missing, the broker returns the message instead of dropping it.
      mandatory: true,
      operation,
      properties: { contentType: 'application/json', persistent: true },
    });
  }

  consumeIntake(handler: IntakeHandler, options: IntakeOptions): Promise<void> {
    return this.#intake.start(handler, options);
  }

  pauseIntake(): Promise<void> {
    return this.#intake.pause();
  }

  resumeIntake(): Promise<void> {
    return this.#intake.resume();
  }

  async subscribe(pattern: string, handler: SubscriptionHandler): Promise<Subscription> {
    const closed = this.#stopped ?? this.#connectionLost;
    if (closed) throw busClosedError(`subscribe to "${pattern}"`, closed);
    const subscription = await AmqpSubscription.open(
      this.#connection,
      this.#names.exchange,
      pattern,
      handler,
      this.#log,
    );
    this.#subscriptions.add(subscription);
    return {
      close: () => {
        this.#subscriptions.delete(subscription);
        return subscription.close();
      },
    };
  }

  health(): BusHealth {
    const closed = this.#stopped ?? this.#connectionLost;
    return closed ? { status: 'closed', reason: closed.message } : { status: 'connected' };
  }

  onHealthChange(listener: BusHealthListener): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  #healthChanged(): void {
    const health = this.health();
    for (const listener of this.#healthListeners) listener(health);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown(new Error('closed by the client: AmqpBus.close() was called'));
    return this.#closing;
  }

  async #shutdown(why: Error): Promise<void> {
    this.#stopped = closeReason('bus', this.#clock.now(), why);
    this.#log.info('bus closing', { phase: 'stop consuming' });
    // Unsettled deliveries stay with the consume channel until it closes, then go back.
    await this.#intake.cancel();
    await Promise.allSettled([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();

    this.#log.debug('bus closing', { phase: 'wait for confirms' });
    const unconfirmed = await this.#publisher.drain(this.#closeTimeoutMs);
    if (unconfirmed > 0) {
      this.#log.warn('bus closing with unconfirmed publishes', {
        unconfirmed,
        waitedMs: this.#closeTimeoutMs,
      });
    }

    this.#log.debug('bus closing', { phase: 'close channels' });
    await this.#publisher.close();
    if (!this.#consumerClosed) await this.#consumer.close().catch(ignoreClosed(this.#log));
    if (!this.#connectionLost) await this.#connection.close().catch(ignoreClosed(this.#log));
    this.#log.info('bus closed');
    this.#healthChanged();
  }

  #consumerClosedReason(): CloseReason | undefined {
    return this.#stopped ?? this.#connectionLost ?? this.#consumerClosed;
  }

  #watchConnection(): void {
    this.#connection.on('error', (error: Error) => {
      this.#connectionError = error;
    });
    this.#connection.on('close', (error?: Error) => {
      if (this.#stopped) return;
      const why = error ?? this.#connectionError ?? 'the broker closed the connection';
      this.#connectionLost = closeReason('connection', this.#clock.now(), why);
      this.#log.error('bus connection lost', { reason: this.#connectionLost.message });
      this.#healthChanged();
    });
    this.#connection.on('blocked', (reason: string) => {
      this.#log.warn('broker blocked publishing', { reason });
    });
    this.#connection.on('unblocked', () => this.#log.info('broker unblocked publishing'));
  }

  #watchConsumer(): void {
    this.#consumer.on('error', (error: Error) => {
      this.#consumerClosed ??= closeReason('consume channel', this.#clock.now(), error);
      this.#log.error('consume channel failed', { reason: error.message });
    });
    this.#consumer.on('close', () => {
      this.#consumerClosed ??= closeReason(
        'consume channel',
        this.#clock.now(),
        'closed by the client',
      );
    });
  }
}

function ignoreClosed(log: Logger): (error: unknown) => void {
  return (error) => log.debug('ignored error while closing', { error: String(error) });
}
