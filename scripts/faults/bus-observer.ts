/**
 * A planner's-eye view of the bus for the fault suite: a durable queue bound to every heartbeat
 * and event key, consumed with manual acks and a reconnect loop, so that a broker restart loses
 * nothing the broker had accepted. Messages are de-duplicated by (trial_id, seq).
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';

export class BusObserver {
  readonly byTrial = new Map<string, Map<number, Record<string, unknown>>>();
  duplicates = 0;
  #connection: ChannelModel | undefined;
  #closed = false;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
    private readonly queue: string,
  ) {}

  async start(): Promise<void> {
    await this.#connect();
  }

  received(trialId: string): Map<number, Record<string, unknown>> {
    return this.byTrial.get(trialId) ?? new Map();
  }

  async close(): Promise<void> {
    this.#closed = true;
    try {
      const channel = await this.#connection?.createChannel();
      await channel?.deleteQueue(this.queue);
      await this.#connection?.close();
    } catch {
      // The broker may already be gone at the end of a scenario.
    }
  }

  async #connect(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      try {
        const connection = await amqp.connect(this.url, { noDelay: true });
        const channel = await connection.createChannel();
        await this.#consume(channel);
        this.#connection = connection;
        connection.on('close', () => void this.#connect());
        connection.on('error', () => undefined);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async #consume(channel: Channel): Promise<void> {
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    await channel.assertQueue(this.queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await channel.bindQueue(this.queue, this.exchange, 'automat.heartbeats.#');
    await channel.bindQueue(this.queue, this.exchange, 'automat.events.#');
    await channel.prefetch(500);
    await channel.consume(this.queue, (message) => {
      if (!message) return;
      const body = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
      const trialId = String(body.trial_id);
      const seen = this.byTrial.get(trialId) ?? new Map<number, Record<string, unknown>>();
      this.byTrial.set(trialId, seen);
      if (seen.has(Number(body.seq))) this.duplicates += 1;
      else seen.set(Number(body.seq), body);
      channel.ack(message);
    });
  }
}
