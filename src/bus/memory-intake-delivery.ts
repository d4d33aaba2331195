import type { Logger } from '../log/logger.js';
import type { DeadLetterReason, IntakeDelivery } from './bus.js';
import { busClosedError, type CloseReason } from './close-reason.js';

/** An intake message held by the memory bus, with how often it has been handed out. */
export interface QueuedMessage {
  body: Buffer;
  deliveries: number;
}

export interface MemoryIntakeDeliveryDeps {
  log: Logger;
  closed: () => CloseReason | undefined;
  settle: (outcome: 'ack' | 'dead-letter' | 'requeue', reason?: DeadLetterReason) => void;
}

/** One intake message on the memory bus; see {@link IntakeDelivery} for the contract. */
export class MemoryIntakeDelivery implements IntakeDelivery {
  readonly body: Buffer;
  readonly redelivered: boolean;
  readonly #deps: MemoryIntakeDeliveryDeps;
  #settled = false;

  constructor(message: QueuedMessage, deps: MemoryIntakeDeliveryDeps) {
    // A copy, so a handler that scribbles on its buffer cannot change a requeued message.
    this.body = Buffer.from(message.body);
    this.redelivered = message.deliveries > 1;
    this.#deps = deps;
  }

  get settled(): boolean {
    return this.#settled;
  }

  ack(): void {
    this.#settle('ack');
  }

  async deadLetter(reason: DeadLetterReason): Promise<void> {
    this.#settle('dead-letter', reason);
  }

  requeue(): void {
    this.#settle('requeue');
  }

  #settle(outcome: 'ack' | 'dead-letter' | 'requeue', reason?: DeadLetterReason): void {
    const closed = this.#deps.closed();
    if (closed) throw busClosedError(`${outcome} an intake message`, closed);
    if (this.#settled) {
      this.#deps.log.warn('intake delivery settled twice; ignoring the second', { outcome });
      return;
    }
    this.#settled = true;
    this.#deps.settle(outcome, reason);
  }
}
