import type { Channel, ConsumeMessage } from 'amqplib';
import type { Clock } from '../clock/clock.js';
import type { AutomatError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { AmqpPublisher } from './amqp-publisher.js';
import { translateAmqpError } from './amqp-errors.js';
import type { DeadLetterReason, IntakeDelivery } from './bus.js';

/** Headers a dead letter carries; the dead-queue tooling and the docs rely on these names. */
export const DeadLetterHeaders = {
  code: 'x-automat-error-code',
  field: 'x-automat-error-field',
  message: 'x-automat-error-message',
  exchange: 'x-automat-original-exchange',
  routingKey: 'x-automat-original-routing-key',
  queue: 'x-automat-original-queue',
  messageId: 'x-automat-original-message-id',
  at: 'x-automat-dead-lettered-at',
} as const;

/**
 * amqplib refuses header tables over 64 KiB, and a long validation report is no use in a header
 * anyway; the body is kept whole, so the full report can be recomputed.
 */
const MAX_HEADER_TEXT = 4096;

export interface IntakeDeliveryDeps {
  /** The channel the message came on; only it can settle the message. */
  channel: Channel;
  publisher: AmqpPublisher;
  queue: string;
  deadLetterExchange: string;
  clock: Clock;
  log: Logger;
  /**
   * The error that refuses settling, if the channel cannot settle any more: BUS_CLOSED once the
   * bus was closed, BUS_UNAVAILABLE once the channel died with its connection (the broker then
   * delivers the message again, marked redelivered).
   */
  refusal: (operation: string) => AutomatError | undefined;
}

type Settlement = 'pending' | 'dead-lettering' | 'settled';

/** One intake message on the AMQP bus; see {@link IntakeDelivery} for the contract. */
export class AmqpIntakeDelivery implements IntakeDelivery {
  readonly body: Buffer;
  readonly redelivered: boolean;
  readonly #message: ConsumeMessage;
  readonly #deps: IntakeDeliveryDeps;
  #state: Settlement = 'pending';

  constructor(message: ConsumeMessage, deps: IntakeDeliveryDeps) {
    this.#message = message;
    this.#deps = deps;
    this.body = message.content;
    this.redelivered = message.fields.redelivered;
  }

  get settled(): boolean {
    return this.#state !== 'pending';
  }

  ack(): void {
    if (!this.#claim('ack')) return;
    this.#settle('ack', () => this.#deps.channel.ack(this.#message));
  }

  async deadLetter(reason: DeadLetterReason): Promise<void> {
    if (!this.#claim('dead-letter')) return;
    // Dead-lettering a message this channel can no longer ack would leave a copy in both queues.
    const refused = this.#deps.refusal(this.#describe('dead-letter'));
    if (refused) throw refused;
    this.#state = 'dead-lettering';
    const { fields, properties, content } = this.#message;
    try {
      await this.#deps.publisher.publish({
        exchange: this.#deps.deadLetterExchange,
        routingKey: fields.routingKey,
        body: content,
        mandatory: true,
        operation: 'dead-letter an intake message',
        properties: {
          persistent: true,
          contentType: properties.contentType as string | undefined,
          contentEncoding: properties.contentEncoding as string | undefined,
          correlationId: properties.correlationId as string | undefined,
          type: properties.type as string | undefined,
          appId: properties.appId as string | undefined,
          headers: { ...properties.headers, ...this.#reasonHeaders(reason) },
        },
      });
    } catch (error) {
      // The original is still unacked, so the broker keeps it: nothing is lost.
      this.#state = 'pending';
      throw error;
    }
    this.#settle('ack after dead-lettering', () => this.#deps.channel.ack(this.#message));
  }

  /** Puts an unsettled message back in the queue, e.g. when its handler failed. */
  requeue(): void {
    if (this.#state !== 'pending') return;
    this.#settle('requeue', () => this.#deps.channel.nack(this.#message, false, true));
  }

  #claim(operation: string): boolean {
    if (this.#state === 'pending') return true;
    this.#deps.log.warn('intake delivery settled twice; ignoring the second', {
      operation,
      state: this.#state,
      deliveryTag: this.#message.fields.deliveryTag,
    });
    return false;
  }

  #settle(operation: string, send: () => void): void {
    const operationText = this.#describe(operation);
    // Acking on a dead channel would throw anyway; the broker has already requeued the message.
    const refused = this.#deps.refusal(operationText);
    if (refused) throw refused;
    try {
      send();
    } catch (error) {
      throw (
        this.#deps.refusal(operationText) ?? translateAmqpError(error, { operation: operationText })
      );
    }
    this.#state = 'settled';
  }

  #describe(operation: string): string {
    return `${operation} intake message ${this.#message.fields.deliveryTag}`;
  }

  #reasonHeaders(reason: DeadLetterReason): Record<string, string> {
    const { fields, properties } = this.#message;
    const headers: Record<string, string> = {
      [DeadLetterHeaders.code]: clip(reason.code),
      [DeadLetterHeaders.message]: clip(reason.message),
      [DeadLetterHeaders.exchange]: fields.exchange,
      [DeadLetterHeaders.routingKey]: fields.routingKey,
      [DeadLetterHeaders.queue]: this.#deps.queue,
      [DeadLetterHeaders.at]: new Date(this.#deps.clock.now()).toISOString(),
    };
    if (reason.field !== undefined) headers[DeadLetterHeaders.field] = clip(reason.field);
    const messageId = properties.messageId as string | undefined;
    if (messageId !== undefined) headers[DeadLetterHeaders.messageId] = messageId;
    return headers;
  }
}

function clip(text: string): string {
  return text.length <= MAX_HEADER_TEXT ? text : `${text.slice(0, MAX_HEADER_TEXT - 1)}…`;
}
