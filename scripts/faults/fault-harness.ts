/**
 * One fault scenario's world: a fresh schema and topology names on the private services, an
 * executor child process, a bus observer, and the accounting the suite prints.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { AmqpBus } from '../../src/bus/amqp-bus.js';
import { busTopologyNames } from '../../src/bus/bus-topology.js';
import { silentLogger } from '../../src/log/logger.js';
import { PostgresTrialStore } from '../../src/store/postgres-trial-store.js';
import { waitFor } from '../smoke/smoke-support.js';
import { BusObserver } from './bus-observer.js';
import type { HealthWatch } from './health-watch.js';

const TERMINAL = new Set(['completed', 'early_stopped', 'failed', 'cancelled', 'timed_out']);
export const SERVICES = 'scripts/faults/private-services.sh';

export interface ScenarioResult {
  scenario: string;
  trialsStarted: number;
  trialsTerminal: number;
  eventsProduced: number;
  eventsReceived: number;
  duplicates: number;
  recoverMs: number | null;
  ok: boolean;
  notes: string;
}

export function services(command: string): void {
  execFileSync('bash', [SERVICES, command], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Reads the env file private-services.sh wrote. */
export function privateEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

export class FaultWorld {
  readonly id = randomBytes(3).toString('hex');
  readonly root = `faults-${this.id}`;
  readonly names = busTopologyNames(this.root);
  readonly schema = `faults_${this.id}`;
  readonly observer: BusObserver;
  readonly trialIds: string[] = [];
  /** Set by the suite before the executor starts. */
  health: HealthWatch | undefined;
  executor: ChildProcess | undefined;
  #executorRuns = 0;

  constructor(
    readonly scenario: string,
    readonly env: Record<string, string>,
    readonly workDir: string,
  ) {
    this.observer = new BusObserver(env.AUTOMAT_AMQP_URL ?? '', this.root, `${this.root}.observer`);
  }

  get executorEnv(): NodeJS.ProcessEnv {
    const n = this.names;
    return {
      ...process.env,
      ...this.env,
      AUTOMAT_DB_SCHEMA: this.schema,
      AUTOMAT_WORK_DIR: this.workDir,
      AUTOMAT_EXCHANGE: n.exchange,
      AUTOMAT_INTAKE_QUEUE: n.intakeQueue,
      AUTOMAT_DLX: n.deadLetterExchange,
      AUTOMAT_DEAD_LETTER_QUEUE: n.deadLetterQueue,
      AUTOMAT_CONTROL_QUEUE: n.controlQueue,
      AUTOMAT_STOP_GRACE_MS: '15000',
      ...(this.health ? { AUTOMAT_HEALTH_PORT: String(this.health.port) } : {}),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  startExecutor(): ChildProcess {
    this.#executorRuns += 1;
    const log = createWriteStream(`${this.workDir}/logs/${this.root}-${this.#executorRuns}.log`);
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
      env: this.executorEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.executor = child;
    return child;
  }

  async submit(bodies: Array<object | Buffer>): Promise<void> {
    const bus = await AmqpBus.connect({
      url: this.env.AUTOMAT_AMQP_URL ?? '',
      names: this.names,
      logger: silentLogger,
    });
    try {
      for (const body of bodies) await bus.submit(body);
    } finally {
      await bus.close();
    }
  }

  /** Waits until every trial of the scenario is terminal in the store, or the timeout. */
  async waitTerminal(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const terminal = await this.countTerminal().catch(() => 0);
      if (terminal === this.trialIds.length || Date.now() > deadline) return terminal;
      await sleep(500);
    }
  }

  async countTerminal(): Promise<number> {
    const store = this.#store();
    try {
      let n = 0;
      for (const id of this.trialIds) {
        const trial = await store.getTrial(id);
        if (trial && TERMINAL.has(trial.state)) n += 1;
      }
      return n;
    } finally {
      await store.close();
    }
  }

  /** Events the executor stored versus those the observer received (after de-duplication). */
  async eventCounts(): Promise<{ produced: number; received: number; started: number }> {
    const store = this.#store();
    try {
      let produced = 0;
      let received = 0;
      let started = 0;
      for (const id of this.trialIds) {
        const messages = await store.listMessages(id).catch(() => []);
        if (messages.length > 0) started += 1;
        produced += messages.length;
        const seen = this.observer.received(id);
        received += messages.filter((m) => seen.has(m.seq)).length;
      }
      return { produced, received, started };
    } finally {
      await store.close();
    }
  }

  /**
   * Waits until the bus observer has every event the executor stored, or the timeout; resolves
   * to the milliseconds from `since` until then, or null if it never happened.
   */
  async waitDelivered(since: number, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await this.eventCounts().catch(() => undefined);
      if (counts && counts.produced > 0 && counts.received === counts.produced) {
        return Date.now() - since;
      }
      if (Date.now() > deadline) return null;
      await sleep(250);
    }
  }

  /** Waits, polling, for `predicate`; the error names this scenario. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitFor(predicate, timeoutMs, `${what} (${this.scenario})`, 100);
  }

  /** Drains the dead-letter queue; counts messages carrying a reason header. */
  async deadLetters(): Promise<{ total: number; withReason: number }> {
    const connection = await amqp.connect(this.env.AUTOMAT_AMQP_URL ?? '');
    const channel = await connection.createChannel();
    let total = 0;
    let withReason = 0;
    for (
      let m = await channel.get(this.names.deadLetterQueue);
      m;
      m = await channel.get(this.names.deadLetterQueue)
    ) {
      total += 1;
      if (m.properties.headers?.['x-automat-error-message']) withReason += 1;
      channel.ack(m);
    }
    await connection.close();
    return { total, withReason };
  }

  /** Trials the executor recorded, whatever their id. */
  async storedTrialCount(): Promise<number> {
    const client = new pg.Client({ connectionString: this.env.AUTOMAT_DATABASE_URL });
    await client.connect();
    try {
      const result = await client.query(`SELECT count(*)::int AS n FROM "${this.schema}".trials`);
      return Number(result.rows[0]?.n ?? 0);
    } finally {
      await client.end();
    }
  }

  messages(trialId: string): Array<Record<string, unknown>> {
    return [...this.observer.received(trialId).values()];
  }

  async stopExecutor(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.executor;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
  }

  #store(): PostgresTrialStore {
    return new PostgresTrialStore({
      connectionString: this.env.AUTOMAT_DATABASE_URL ?? '',
      schema: this.schema,
      logger: silentLogger,
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
