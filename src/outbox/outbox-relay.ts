import type { Bus } from '../bus/bus.js';
import { eventKey, heartbeatKey } from '../bus/routing-keys.js';
import type { Clock } from '../clock/clock.js';
import { serializeError } from '../errors/index.js';
import type { HealthReporter } from '../health/executor-health.js';
import type { Logger } from '../log/logger.js';
import type { StoredMessage, TrialStore } from '../store/trial-store.js';

/** What the relay needs of the store: the outbox, and recordMessage to write into it. */
export type OutboxRelayStore = Pick<
  TrialStore,
  'recordMessage' | 'markPublished' | 'listUnpublished' | 'listTrialsWithUnpublished'
>;

export interface OutboxRelayOptions {
  store: OutboxRelayStore;
  bus: Pick<Bus, 'publish'>;
  clock: Clock;
  logger: Logger;
  health: HealthReporter;
  /** This executor's id: the relay replays stored backlogs of trials it may publish for. */
  owner: string;
  /** Most stored messages loaded per trial and replay. Default 500. */
  replayBatch?: number;
}

/** One message on its way: stored first, then published, then marked published. */
interface OutboxEntry {
  trialId: string;
  seq: number;
  routingKey: string;
  message: Record<string, unknown>;
  recordedAt: string;
  stored: boolean;
  publishedAt?: string;
  marked: boolean;
}

/**
 * The transactional outbox's relay. Every heartbeat and event is written to the store, then
 * published with a publisher confirm, then marked published — per trial strictly in `seq`
 * order: a message is never published before an earlier one of its trial.
 *
 * Outages leave work behind rather than losing it. With the broker away, messages stay stored
 * and unmarked, in memory too, and go out, in order, on a later {@link pump}. With the database
 * away, messages are published all the same and kept in memory until they can be stored (as
 * already published). After a crash, the executor that takes a trial over {@link adopt}s its
 * stored backlog; {@link replayStored} finds backlogs nobody holds in memory (a trial that ended
 * under an executor which died before publishing its last messages).
 *
 * Delivery is at least once: a message published but not marked (the database failed between
 * the two) is published again later with the same `seq`, which consumers use to drop it.
 */
export class OutboxRelay {
  readonly #waiting = new Map<string, OutboxEntry[]>();
  readonly #replayBatch: number;
  /** Set while publishing fails, so an outage is logged once at warn, not once per retry. */
  #publishFailing = false;
  #storeFailing = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.#replayBatch = options.replayBatch ?? 500;
  }

  /** Messages held in memory and not yet stored, published and marked. */
  get backlog(): number {
    let n = 0;
    for (const entries of this.#waiting.values()) n += entries.length;
    return n;
  }

  /** Takes a message of the trial's stream (it carries `trial_id` and `seq`) and sends it on. */
  async send(routingKey: string, message: Record<string, unknown>): Promise<void> {
    const trialId = String(message.trial_id);
    const entry: OutboxEntry = {
      trialId,
      seq: Number(message.seq),
      routingKey,
      message,
      recordedAt: String(message.ts ?? new Date(this.options.clock.now()).toISOString()),
      stored: false,
      marked: false,
    };
    this.#queue(trialId).push(entry);
    await this.#drain(trialId);
  }

  /**
   * Loads the trial's stored, unpublished messages ahead of anything it sends from now on.
   * Called when this executor takes a trial over, before the trial publishes again.
   */
  async adopt(trialId: string): Promise<void> {
    const rows = await this.options.store.listUnpublished(trialId, this.#replayBatch);
    const queue = this.#queue(trialId);
    const known = new Set(queue.map((e) => e.seq));
    const loaded = rows.filter((row) => !known.has(row.seq)).map((row) => this.#fromRow(row));
    queue.unshift(...loaded);
    queue.sort((a, b) => a.seq - b.seq);
    if (loaded.length > 0) {
      this.options.logger.info('outbox backlog adopted', { trialId, messages: loaded.length });
    }
    await this.#drain(trialId);
  }

  /** Tries again everything held in memory, trial by trial. */
  async pump(): Promise<void> {
    for (const trialId of [...this.#waiting.keys()]) await this.#drain(trialId);
    this.#reportBacklog();
  }

  /** Publishes stored backlogs of trials this relay holds nothing of in memory. */
  async replayStored(): Promise<void> {
    const { store, owner, clock, logger } = this.options;
    let trialIds: string[];
    try {
      const now = new Date(clock.now()).toISOString();
      trialIds = await store.listTrialsWithUnpublished(owner, now, 100);
    } catch (error) {
      logger.debug('outbox replay skipped: store unavailable', { error: serializeError(error) });
      return;
    }
    for (const trialId of trialIds) {
      if (this.#waiting.has(trialId)) continue;
      try {
        await this.adopt(trialId);
      } catch (error) {
        logger.debug('outbox replay deferred', { trialId, error: serializeError(error) });
      }
    }
  }

  #queue(trialId: string): OutboxEntry[] {
    let queue = this.#waiting.get(trialId);
    if (!queue) {
      queue = [];
      this.#waiting.set(trialId, queue);
    }
    return queue;
  }

  /** Stores what is unstored, then publishes in order until the first failure. */
  async #drain(trialId: string): Promise<void> {
    const queue = this.#waiting.get(trialId);
    if (!queue) return;
    for (const entry of queue) {
      if (!entry.stored && !(await this.#store(entry))) break;
    }
    for (const entry of queue) {
      if (!entry.publishedAt && !(await this.#publish(entry))) break;
      if (entry.stored && !entry.marked) await this.#mark(entry);
    }
    while (queue.length > 0 && isDone(queue[0] as OutboxEntry)) queue.shift();
    if (queue.length === 0) this.#waiting.delete(trialId);
    this.#reportBacklog();
  }

  async #store(entry: OutboxEntry): Promise<boolean> {
    const { trialId, seq, message, recordedAt, publishedAt } = entry;
    try {
      await this.options.store.recordMessage({
        trialId,
        seq,
        type: String(message.type),
        payload: message,
        recordedAt,
        ...(publishedAt ? { publishedAt } : {}),
      });
      entry.stored = true;
      entry.marked = publishedAt !== undefined;
      this.options.health.report('store', 'database', undefined);
      if (this.#storeFailing) this.options.logger.info('outbox storing again', { trialId, seq });
      this.#storeFailing = false;
      return true;
    } catch (error) {
      this.options.health.report('store', 'database', errorMessage(error));
      const level = this.#storeFailing ? 'debug' : 'warn';
      this.#storeFailing = true;
      this.options.logger[level]('bus message not stored yet; kept in memory', {
        trialId,
        seq,
        error: serializeError(error),
      });
      return false;
    }
  }

  async #publish(entry: OutboxEntry): Promise<boolean> {
    try {
      await this.options.bus.publish(entry.routingKey, entry.message);
      entry.publishedAt = new Date(this.options.clock.now()).toISOString();
      if (this.#publishFailing) {
        this.options.logger.info('outbox publishing again', { trialId: entry.trialId });
      }
      this.#publishFailing = false;
      return true;
    } catch (error) {
      const level = this.#publishFailing ? 'debug' : 'warn';
      this.#publishFailing = true;
      this.options.logger[level]('bus message not published yet; kept in the outbox', {
        trialId: entry.trialId,
        seq: entry.seq,
        error: serializeError(error),
      });
      return false;
    }
  }

  async #mark(entry: OutboxEntry): Promise<void> {
    try {
      await this.options.store.markPublished(entry.trialId, entry.seq, entry.publishedAt ?? '');
      entry.marked = true;
    } catch (error) {
      // Left unmarked, it is marked on a later pump; a replay in between publishes it twice.
      this.options.logger.debug('outbox mark deferred', {
        trialId: entry.trialId,
        seq: entry.seq,
        error: serializeError(error),
      });
    }
  }

  #fromRow(row: StoredMessage): OutboxEntry {
    const message = row.payload as Record<string, unknown>;
    const routingKey = row.type.startsWith('heartbeat.')
      ? heartbeatKey(row.trialId)
      : eventKey(row.trialId);
    return {
      trialId: row.trialId,
      seq: row.seq,
      routingKey,
      message,
      recordedAt: row.recordedAt,
      stored: true,
      marked: false,
    };
  }

  #reportBacklog(): void {
    const backlog = this.backlog;
    this.options.health.report(
      'outbox',
      'relay',
      backlog > 0 ? `${backlog} messages waiting for the bus or the store` : undefined,
    );
  }
}

function isDone(entry: OutboxEntry): boolean {
  return entry.stored && entry.publishedAt !== undefined && entry.marked;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
