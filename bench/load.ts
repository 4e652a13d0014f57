/**
 * One load run with autocannon (programmatic API): GET / with the session cookie. Latencies are collected from
 * autocannon's per-response event at full (sub-millisecond) resolution, because its own histogram keeps whole
 * milliseconds and the targets here are about fractions of one.
 */
import autocannon from 'autocannon';

/** What to load and how hard. */
export interface LoadOptions {
  url: string;
  cookie: string | undefined;
  connections: number;
  /** Run for this long... */
  seconds?: number;
  /** ...or until this many requests were sent. */
  amount?: number;
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as the system answers. */
  rate?: number;
  /** Keep 2xx latencies (for percentiles); default true. */
  recordLatencies?: boolean;
  /** Called for every response (counting for soak progress). */
  onResponse?: () => void;
}

/** The outcome of one run. */
export interface LoadResult {
  /** 2xx responses per second over the run. */
  rps: number;
  /** 2xx responses. */
  ok: number;
  /** Responses with another status, and connection errors / timeouts: any of these makes the run suspect. */
  non2xx: number;
  errors: number;
  /** Latency percentiles of 2xx responses, in ms (NaN without recorded latencies). */
  p50: number;
  p99: number;
  seconds: number;
}

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** A growable list of numbers without boxing each one. */
class Samples {
  #data = new Float64Array(1 << 16);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  sorted(): Float64Array {
    return this.#data.slice(0, this.#length).sort();
  }
}

/** Runs autocannon once and resolves with throughput, errors and latency percentiles. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const record = options.recordLatencies ?? true;
  const latencies = new Samples();
  let ok = 0;
  let non2xx = 0;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 5 }),
        ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
        headers: options.cookie ? { cookie: options.cookie } : {},
        timeout: 10,
      },
      (err, result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const sorted = latencies.sorted();
        resolve({
          rps: ok / seconds,
          ok,
          non2xx,
          errors: result.errors + result.timeouts,
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
          seconds,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok += 1;
        if (record) latencies.push(responseTime);
      } else {
        non2xx += 1;
      }
      options.onResponse?.();
    });
  });
}
