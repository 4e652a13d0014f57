/**
 * The per-request metrics (requests by upstream and status, their latency, policy decisions) counted in
 * plain numbers and handed to prom-client's registry only when it is read: prom-client checks and hashes the
 * label set on every inc() and observe() (cost in BENCHMARKS.md), where a slot found once per label set costs
 * an addition. Exposition, cluster aggregation and every other metric stay prom-client's.
 */
import { Counter, type Metric, type Registry } from 'prom-client';

/** One label set's count. */
export interface CounterSlot {
  n: number;
}

/** A prom-client Counter fed from slots: their counts are added to it each time the registry is read. */
export class BatchedCounter<L extends string> {
  readonly #slots: Array<{ labels: Partial<Record<L, string>>; slot: CounterSlot }> = [];
  readonly counter: Counter<L>;

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registry: Registry }) {
    const slots = this.#slots;
    this.counter = new Counter<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect() {
        for (const { labels, slot } of slots) {
          if (slot.n === 0) continue;
          this.inc(labels, slot.n);
          slot.n = 0;
        }
      },
    });
  }

  /** A slot for one label set; call once per label set and keep it. */
  slot(labels: Record<L, string>): CounterSlot {
    const slot = { n: 0 };
    this.#slots.push({ labels, slot });
    this.counter.inc(labels, 0); // the series shows from its first request on, at 0 until scraped
    return slot;
  }
}

/** One label set's histogram: observations per bucket (the last is +Inf), their sum and count. */
export interface HistogramSeries {
  readonly labels: Record<string, string>;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A histogram in prom-client's metric shape (what a registry reads from get()). */
export class BatchedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** A series for one label set; call once per label set and keep it. */
  series(labels: Record<string, string>): HistogramSeries {
    const series = { labels, buckets: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
    this.#series.push(series);
    return series;
  }

  /** Counts one observation. */
  observe(series: HistogramSeries, value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    series.buckets[i] += 1;
    series.sum += value;
    series.count += 1;
  }

  /** What prom-client's own Histogram returns: cumulative buckets with `le`, then _sum and _count. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> }> {
    const values = [];
    for (const series of this.#series) {
      let cumulative = 0;
      for (let i = 0; i <= this.upperBounds.length; i++) {
        cumulative += series.buckets[i];
        values.push({ labels: { le: this.upperBounds[i] ?? '+Inf', ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Forgets every observation (prom-client's Registry.resetMetrics). */
  reset(): void {
    for (const series of this.#series) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
