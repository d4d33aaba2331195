import type { Push } from 'zeromq';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Encoded, Stamp } from './frame-codec.js';
import { translateZmqError } from './zmq-error.js';

export interface StampedSenderOptions<I, M> {
  push: Push;
  trialId: string;
  attempt: number;
  /** `seq` of the first message. */
  firstSeq: number;
  clock: Clock;
  log: Logger;
  /** Stamps and validates one message; a throw rejects that send and uses up no `seq`. */
  encode: (input: I, stamp: Stamp) => Encoded<M>;
  /** The error to raise when a send fails because the owner closed; undefined while open. */
  closedError: () => Error | undefined;
}

/**
 * The sending half shared by both ends of a trial's channel: stamps each message with the
 * trial, attempt, the next `seq` and the time, validates it, and sends one frame at a time in
 * call order. `drained` settles once every send so far has.
 */
export class StampedSender<I, M extends { type: string; seq: number }> {
  #seq: number;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: StampedSenderOptions<I, M>) {
    this.#seq = options.firstSeq;
  }

  send(input: I): Promise<M> {
    const closed = this.options.closedError();
    if (closed) return Promise.reject(closed);
    const { trialId, attempt, clock, encode, push, log } = this.options;
    const ts = new Date(clock.now()).toISOString();
    let encoded: Encoded<M>;
    try {
      encoded = encode(input, { trialId, attempt, seq: this.#seq, ts });
    } catch (error) {
      return Promise.reject(error);
    }
    const { message, frame } = encoded;
    this.#seq += 1;

    const sent = this.#chain.then(async () => {
      try {
        await push.send(frame);
      } catch (error) {
        throw this.options.closedError() ?? translateZmqError(error, `send ${message.type}`);
      }
      log.debug('message sent', { type: message.type, seq: message.seq });
      return message;
    });
    this.#chain = sent.catch(() => undefined);
    return sent;
  }

  /** Settles once every send started so far has settled. */
  get drained(): Promise<unknown> {
    return this.#chain;
  }
}
