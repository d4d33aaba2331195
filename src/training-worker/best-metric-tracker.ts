import type { BestMetricValue, PrimaryMetricName } from '../contracts/index.js';

/** Whether a higher value of `metric` is better. Accuracy rises; loss and perplexity fall. */
export function metricMode(metric: PrimaryMetricName): 'max' | 'min' {
  return metric === 'val_accuracy' ? 'max' : 'min';
}

/** Remembers the epoch with the best primary metric; null (non-finite) values never win. */
export class BestMetricTracker {
  readonly #mode: 'max' | 'min';
  #best: BestMetricValue;

  constructor(metric: PrimaryMetricName, initial?: BestMetricValue) {
    this.#mode = metricMode(metric);
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
