import type { BestMetricValue, PrimaryMetricName } from '../contracts/index.js';
import { METRIC_MODE, type MetricMode } from '../policy/metric-direction.js';

/**
 * Remembers the epoch with the best primary metric; null (non-finite) values never win. Which
 * way is better comes from the executor's one table (METRIC_MODE), never from the name here.
 */
export class BestMetricTracker {
  readonly #mode: MetricMode;
  #best: BestMetricValue;

  constructor(metric: PrimaryMetricName, initial?: BestMetricValue) {
    this.#mode = METRIC_MODE[metric];
    this.#best = initial ?? { name: metric, value: null, epoch: null };
  }

  get best(): BestMetricValue {
    return { ...this.#best };
  }

  /** Records `value` for `epoch`; true when it became the best so far. Ties keep the earlier. */
  offer(epoch: number, value: number | null): boolean {
    if (value === null) return false;
    const current = this.#best.value;
    const better = current === null || (this.#mode === 'max' ? value > current : value < current);
    if (better) this.#best = { name: this.#best.name, value, epoch };
    return better;
  }
}
