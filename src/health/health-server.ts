import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { HealthSnapshot } from './executor-health.js';

export interface HealthServerOptions {
  /** 0 picks a free port. */
  port: number;
  snapshot: () => HealthSnapshot & Record<string, unknown>;
  logger: Logger;
}

/**
 * The executor's health over HTTP, on 127.0.0.1 only:
 *
 * - `GET /healthz` — 200 while the process serves, with the snapshot as JSON (`status` is `ok`
 *   or `degraded`): for a liveness probe, which must not restart an executor riding out an
 *   outage.
 * - `GET /readyz` — the same body, 200 when every component is ok and 503 while one is
 *   degraded: for a readiness probe or an alert.
 */
export class HealthServer {
  readonly #server: Server;
  #closing: Promise<void> | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(options: HealthServerOptions): Promise<HealthServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' || (path !== '/healthz' && path !== '/readyz')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'GET /healthz or /readyz' }));
        return;
      }
      const snapshot = options.snapshot();
      const status = path === '/readyz' && snapshot.status !== 'ok' ? 503 : 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(snapshot));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    options.logger.info('health endpoint listening', { url: `http://127.0.0.1:${port}/healthz` });
    return new HealthServer(server);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}
