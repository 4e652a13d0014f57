/**
 * One load run: GET / with the session cookie, with wrk (bench/load-wrk.ts) or autocannon. Full-load runs use
 * wrk when it is installed: autocannon shares CPU 0 with the upstream and provider and, being JavaScript, was
 * itself the limit there (the bare proxy showed about 5,800 req/s with it, about 10,000 with wrk). A fixed rate
 * (half load) or a fixed request count with per-response progress (the soak) need autocannon, which wrk lacks.
 * autocannon's latencies are collected from its per-response event at full (sub-millisecond) resolution,
 * because its own histogram keeps whole milliseconds and the targets here are about fractions of one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { runWrk, wrkVersion } from './load-wrk.js';
import { ROOT } from './proc.js';
import { readSettings } from './settings.js';

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
  /** The generator for a run wrk can do (no rate, amount or onResponse); default: defaultLoader(). */
  loader?: LoaderKind;
}

/** The two load generators. */
export type LoaderKind = 'wrk' | 'autocannon';

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
  /** CPU time of the load generator's own process (wrk), ms; undefined when it ran inside this one (autocannon). */
  loaderCpuMs?: number;
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
function runAutocannon(options: LoadOptions): Promise<LoadResult> {
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

/** Whether wrk can do this run: it loads as fast as it can for a time, with no fixed rate, count or progress. */
export function wrkCanRun(options: Pick<LoadOptions, 'rate' | 'amount' | 'onResponse'>): boolean {
  return options.rate === undefined && options.amount === undefined && options.onResponse === undefined;
}

/**
 * The generator for the runs wrk can do, from BENCH_LOAD (bench/settings.ts): wrk when asked for or, unset,
 * when installed (with a one-line note when it is not); BENCH_LOAD=wrk without wrk installed is an error.
 */
export function chooseLoader(preference: LoaderKind | undefined, log: (line: string) => void = console.log): LoaderKind {
  if (preference === 'autocannon') return 'autocannon';
  if (wrkVersion() !== null) return 'wrk';
  if (preference === 'wrk') throw new Error('BENCH_LOAD=wrk but wrk is not installed: apt-get install wrk');
  log('note: wrk is not installed, so the full-load passes use autocannon, which can be the limit itself (apt-get install wrk)');
  return 'autocannon';
}

let chosen: LoaderKind | undefined;

/** chooseLoader() for BENCH_LOAD in this process's environment, decided (and noted) once. */
export function defaultLoader(): LoaderKind {
  if (chosen !== undefined) return chosen;
  chosen = chooseLoader(readSettings().load);
  return chosen;
}

/** The generator a run with these options uses. */
export function loaderFor(options: Pick<LoadOptions, 'rate' | 'amount' | 'onResponse' | 'loader'>): LoaderKind {
  return wrkCanRun(options) ? (options.loader ?? defaultLoader()) : 'autocannon';
}

function autocannonVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(version unknown)';
  }
}

/** The generator's version ("debian/4.1.0-3+b2" for wrk, as `wrk -v` prints it). */
export function loaderVersion(kind: LoaderKind): string {
  return kind === 'wrk' ? (wrkVersion() ?? '(not installed)') : autocannonVersion();
}

/** The generator and its version, as the report names it ("wrk debian/4.1.0-3+b2", "autocannon 8.0.0"). */
export function loaderLabel(kind: LoaderKind): string {
  return `${kind} ${loaderVersion(kind)}`;
}

/** Runs one load with the generator loaderFor() picks; resolves with throughput, errors and latency percentiles. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return loaderFor(options) === 'wrk' ? runWrk(options) : runAutocannon(options);
}
