import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';

/** The parts of an executor that can be degraded on their own. */
export type HealthComponent = 'bus' | 'store' | 'artifacts' | 'outbox';

export interface ComponentHealth {
  status: 'ok' | 'degraded';
  /** What is wrong, per source (a trial, the connection, …); empty when ok. */
  problems: Record<string, string>;
  /** ISO 8601: when the status last changed. */
  since: string;
}

export interface HealthSnapshot {
  /** `degraded` while any component is. */
  status: 'ok' | 'degraded';
  components: Record<HealthComponent, ComponentHealth>;
}

/** Where parts of the executor report trouble; see {@link ExecutorHealth}. */
export interface HealthReporter {
  /**
   * Records that `source` sees `component` failing with `problem`, or, with undefined, that it
   * no longer does.
   */
  report(component: HealthComponent, source: string, problem: string | undefined): void;
}

/**
 * The executor's health: each component is degraded while any source reports a problem with it
 * (the bus while it reconnects, the store while writes wait for the database, artifacts while a
 * trial's checkpoint upload is pending, the outbox while messages wait for the bus). Changes are
 * logged — warn when a component degrades, info when it recovers — and served by HealthServer.
 */
export class ExecutorHealth implements HealthReporter {
  readonly #components = new Map<HealthComponent, ComponentHealth>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    for (const name of ['bus', 'store', 'artifacts', 'outbox'] as const) {
      this.#components.set(name, { status: 'ok', problems: {}, since: this.#now() });
    }
  }

  report(component: HealthComponent, source: string, problem: string | undefined): void {
    const current = this.#components.get(component) as ComponentHealth;
    if (current.problems[source] === problem) return;
    const problems = { ...current.problems };
    if (problem === undefined) delete problems[source];
    else problems[source] = problem;
    const status = Object.keys(problems).length > 0 ? 'degraded' : 'ok';
    const since = status === current.status ? current.since : this.#now();
    this.#components.set(component, { status, problems, since });
    if (status === 'degraded' && current.status === 'ok') {
      this.logger.warn('executor degraded', { component, source, problem });
    } else if (status === 'ok' && current.status === 'degraded') {
      this.logger.info('executor component recovered', { component, source });
    }
  }

  snapshot(): HealthSnapshot {
    const components = Object.fromEntries(this.#components) as Record<
      HealthComponent,
      ComponentHealth
    >;
    const degraded = [...this.#components.values()].some((c) => c.status === 'degraded');
    return { status: degraded ? 'degraded' : 'ok', components };
  }

  #now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** For runs nobody watches (`automat0 run`, tests): reports go nowhere. */
export const ignoreHealth: HealthReporter = { report: () => undefined };
