import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { resolveAmqpBusOptions, type AmqpBusOptions } from './amqp-bus-options.js';
import { translateAmqpError } from './amqp-errors.js';
import { AmqpIntakeConsumer } from './amqp-intake-consumer.js';
import { AmqpIntakeDelivery } from './amqp-intake-delivery.js';
import { AmqpLink, type AmqpLinkOptions } from './amqp-link.js';
import { AmqpPublisher } from './amqp-publisher.js';
import { AmqpSubscriptionSet } from './amqp-subscription-set.js';
import type {
  Bus,
  BusHealth,
  BusHealthListener,
  IntakeHandler,
  IntakeOptions,
  Subscription,
  SubscriptionHandler,
} from './bus.js';
import { BusHealthTracker } from './bus-health-tracker.js';
import { busTopology, type BusTopologyNames } from './bus-topology.js';
import {
  busClosedError,
  busUnavailableError,
  closeReason,
  type CloseReason,
} from './close-reason.js';
import { encodeMessage } from './encode-message.js';
import { ReconnectLoop, type ReconnectFailure } from './reconnect-loop.js';
import { redactUrl } from './redact-url.js';

/**
 * The RabbitMQ bus: one connection, a confirm channel for every publish (topic messages, intake
 * submissions, dead letters), a second channel for the intake consumer, and one channel per
 * subscription.
 *
 * Once connected, it recovers from broker outages: when the connection drops without close() (or
 * the consume channel fails), health turns `reconnecting` and the bus reconnects with back-off
 * until it succeeds or close() is called. A reconnection re-declares the topology, re-opens every
 * open subscription on a fresh queue, turns health `connected`, then restarts the intake consumer
 * if consumeIntake was called, staying paused if the owner paused it. Meanwhile publish() and
 * submit() fail fast with BUS_UNAVAILABLE, as do publishes unconfirmed at the drop (not retried);
 * deliveries unsettled at the drop cannot be settled and come again, marked redelivered;
 * subscribers miss what was published while their queue was gone; consumeIntake, pauseIntake,
 * resumeIntake and subscribe are recorded and applied on reconnection. See docs/bus.md.
 *
 * The first connect() does not retry: it fails and the caller decides.
 */
export class AmqpBus implements Bus {
  readonly #names: BusTopologyNames;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #closeTimeoutMs: number;
  readonly #linkOptions: AmqpLinkOptions;
  readonly #subscriptions: AmqpSubscriptionSet;
  readonly #health: BusHealthTracker;
  readonly #publisher: AmqpPublisher;
  readonly #intake: AmqpIntakeConsumer;
  readonly #reconnect: ReconnectLoop;
  /** The live link; undefined during an outage and after close(). */
  #link: AmqpLink | undefined;
  /** Why the last link was lost, while reconnecting. */
  #outage: CloseReason | undefined;
  /** Set when close() was called. */
  #stopped: CloseReason | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Connects, opens the channels and asserts the topology. Fails with BUS_UNAVAILABLE, or with
   * CONFIG_INVALID when the broker refuses the credentials or holds a different topology.
   */
  static async connect(options: AmqpBusOptions): Promise<AmqpBus> {
    const bus = new AmqpBus(options);
    const link = await AmqpLink.open(bus.#linkOptions);
    bus.#use(link);
    // No handler yet, so this only hands the consume channel to the intake consumer.
    await bus.#startIntake(link);
    bus.#log.info('bus connected', { exchange: bus.#names.exchange });
    return bus;
  }

  private constructor(options: AmqpBusOptions) {
    const resolved = resolveAmqpBusOptions(options);
    this.#names = resolved.names;
    this.#clock = resolved.clock;
    this.#closeTimeoutMs = resolved.closeTimeoutMs;
    this.#log = resolved.logger.child({ component: 'amqp-bus', broker: redactUrl(resolved.url) });
    this.#health = new BusHealthTracker(this.#log);
    this.#subscriptions = new AmqpSubscriptionSet(this.#names.exchange, this.#log);
    this.#linkOptions = {
      url: resolved.url,
      connectTimeoutMs: resolved.connectTimeoutMs,
      connectionName: resolved.connectionName,
      topology: busTopology(resolved.names, resolved),
      clock: this.#clock,
      log: this.#log,
      onLost: (link) => this.#lost(link),
    };
    this.#publisher = new AmqpPublisher({
      clock: this.#clock,
      log: this.#log,
      refusal: (operation) => this.#refusal(operation),
      reopen: () => this.#openPublishChannel(),
    });
    this.#intake = new AmqpIntakeConsumer({
      queue: this.#names.intakeQueue,
      log: this.#log,
      stopped: () => this.#stopped,
    });
    this.#reconnect = new ReconnectLoop({
      clock: this.#clock,
      policy: resolved.reconnect,
      attempt: (attempt) => this.#reconnectOnce(attempt),
      onFailure: (failure) => this.#reconnectFailed(failure),
    });
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

  /** During an outage the subscription is registered and resolves; it opens on reconnection. */
  subscribe(pattern: string, handler: SubscriptionHandler): Promise<Subscription> {
    if (this.#stopped) {
      return Promise.reject(busClosedError(`subscribe to "${pattern}"`, this.#stopped));
    }
    // A connection lost while opening is no failure: reconnecting opens the subscription.
    const keep = () => !this.#stopped && this.#outage !== undefined;
    return this.#subscriptions.add(pattern, handler, this.#link?.connection, keep);
  }

  health(): BusHealth {
    return this.#health.current;
  }

  onHealthChange(listener: BusHealthListener): () => void {
    return this.#health.listen(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown(new Error('closed by the client: AmqpBus.close() was called'));
    return this.#closing;
  }

  async #shutdown(why: Error): Promise<void> {
    this.#stopped = closeReason('bus', this.#clock.now(), why);
    this.#reconnect.stop();
    this.#health.move({ status: 'closed', reason: this.#stopped.message });
    this.#log.info('bus closing', { phase: 'stop consuming' });
    // Unsettled deliveries stay with the consume channel until it closes, then go back.
    await this.#intake.cancel();
    await this.#subscriptions.closeAll();

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
    const link = this.#link;
    this.#link = undefined;
    if (link && !link.lost) await link.close();
    this.#log.info('bus closed');
  }

  /** What refuses an operation outright: BUS_CLOSED after close(), BUS_UNAVAILABLE meanwhile. */
  #refusal(operation: string): AutomatError | undefined {
    if (this.#stopped) return busClosedError(operation, this.#stopped);
    if (this.#outage) {
      return busUnavailableError(operation, this.#outage, 'the bus is reconnecting; try later');
    }
    return undefined;
  }

  /** Makes `link` the live one and publishes on its confirm channel. */
  #use(link: AmqpLink): void {
    this.#link = link;
    this.#publisher.attach(link.publishing);
  }

  #delivery(message: ConsumeMessage, link: AmqpLink): AmqpIntakeDelivery {
    return new AmqpIntakeDelivery(message, {
      channel: link.consuming,
      publisher: this.#publisher,
      queue: this.#names.intakeQueue,
      deadLetterExchange: this.#names.deadLetterExchange,
      clock: this.#clock,
      log: this.#log,
      refusal: (operation) => {
        if (this.#stopped) return busClosedError(operation, this.#stopped);
        if (!link.lost) return undefined;
        return busUnavailableError(operation, link.lost, 'the broker will deliver it again');
      },
    });
  }

  async #openPublishChannel(): Promise<ConfirmChannel> {
    const link = this.#link;
    if (!link) throw new Error('no live connection to reopen the publish channel on');
    const channel = await link.connection.createConfirmChannel();
    channel.on('error', (error: Error) => {
      this.#log.debug('reopened publish channel error', { reason: error.message });
    });
    return channel;
  }

  /** The live link died: refuse publishes, forget its channels and start reconnecting. */
  #lost(link: AmqpLink): void {
    if (link !== this.#link || this.#stopped || !link.lost) return;
    const reason = link.lost;
    this.#link = undefined;
    this.#outage = reason;
    this.#publisher.detach();
    this.#intake.detach();
    this.#log.error('bus connection lost; reconnecting', { reason: reason.message });
    this.#health.move({
      status: 'reconnecting',
      since: reason.at,
      reason: reason.message,
      attempts: 0,
    });
    this.#reconnect.start();
  }

  /**
   * One attempt: a new link, subscriptions open on it, then `connected`, then the intake, so
   * that a dead letter written by the intake handler already finds the publisher attached. The
   * attempt succeeds without waiting for the intake: if that fails, the link is given up and a
   * new series of attempts starts, which needs this one to have finished.
   */
  async #reconnectOnce(attempt: number): Promise<void> {
    this.#health.countAttempts(attempt);
    this.#log.debug('bus reconnect attempt', { attempt });
    const link = await AmqpLink.open(this.#linkOptions);
    try {
      await this.#subscriptions.openAll(link.connection);
      if (link.lost) throw translateAmqpError(link.lost.error, { operation: 'reconnect' });
    } catch (error) {
      await link.close();
      throw error;
    }
    if (this.#stopped) {
      await link.close();
      return;
    }
    const outage = this.#outage;
    this.#outage = undefined;
    this.#use(link);
    const downtimeMs = outage ? this.#clock.now() - outage.at : 0;
    this.#health.move({ status: 'connected' });
    this.#log.info('bus reconnected', { attempts: attempt, downtimeMs });
    void this.#startIntake(link);
  }

  /** Hands the consume channel to the intake consumer; gives the link up if that fails. */
  async #startIntake(link: AmqpLink): Promise<void> {
    try {
      await this.#intake.attach(link.consuming, (message) => this.#delivery(message, link));
    } catch (error) {
      // Nothing else would restart it on this link; giving the link up brings a fresh one.
      this.#log.error('could not restart the intake consumer; reconnecting', {
        error: String(error),
      });
      await link.abandon('intake consumer', error);
    }
  }

  #reconnectFailed({ attempt, error, nextDelayMs }: ReconnectFailure): void {
    const code = error instanceof AutomatError ? error.code : undefined;
    const message = error instanceof Error ? error.message : String(error);
    const meta = { attempt, nextDelayMs, code, error: message };
    // A refused login or a topology that no longer matches needs a person, not patience.
    if (code === ErrorCodes.CONFIG_INVALID) this.#log.error('bus reconnect attempt failed', meta);
    else this.#log.warn('bus reconnect attempt failed', meta);
  }
}
