/**
 * Polls an executor's `/readyz` during a scenario and keeps the sequence of statuses it
 * answered (`ok`, `degraded`, `down` when nothing answered), without repeats.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export class HealthWatch {
  readonly statuses: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly port: number) {}

  /** A port free right now on 127.0.0.1, for an executor's health endpoint. */
  static async freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  start(everyMs = 500): void {
    this.#timer ??= setInterval(() => void this.#poll(), everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Waits until the last answer was `status`, or `timeoutMs`; resolves to whether it was. */
  async waitFor(status: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.statuses.at(-1) !== status) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /** `ok → degraded → ok`, ignoring the executor's start-up and shutdown. */
  summary(): string {
    const seen = [...this.statuses];
    while (seen[0] === 'down') seen.shift();
    while (seen.at(-1) === 'down') seen.pop();
    return seen.join('→') || 'never answered';
  }

  async #poll(): Promise<void> {
    let status = 'down';
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/readyz`, {
        signal: AbortSignal.timeout(400),
      });
      status = ((await response.json()) as { status: string }).status;
    } catch {
      // Not listening (starting, stopped or killed): recorded as down.
    }
    if (this.statuses.at(-1) !== status) this.statuses.push(status);
  }
}
