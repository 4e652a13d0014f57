/**
 * The soak: a long run against one system (authgate, cookie store) with its RSS sampled every few seconds, to
 * show memory stays flat over at least a million requests rather than creeping up.
 */
import { runLoad } from './load.js';
import { rssKb, watchForeignCpu } from './proc.js';
import type { RunningSystem } from './stack.js';

/** One RSS sample. */
export interface SoakSample {
  seconds: number;
  requests: number;
  rssMb: number;
}

/** The soak's outcome. */
export interface SoakResult {
  requests: number;
  seconds: number;
  rps: number;
  non2xx: number;
  errors: number;
  /** CPU other processes used meanwhile, % of one core over the whole soak (see rounds.ts). */
  foreignCpuPercent: number;
  samples: SoakSample[];
  /** RSS at the first sample (after the first interval), at the end, the smallest and the largest seen, MB. */
  firstMb: number;
  lastMb: number;
  minMb: number;
  maxMb: number;
  /**
   * The least-squares trend of RSS against requests served, MB per million requests, over the samples after
   * the first tenth of the run (heap growth while warming up is not a leak). Near 0: flat; a leak shows as
   * a steady positive slope, GC's sawtooth does not.
   */
  trendMbPerMillion: number;
}

/** The least-squares slope of y over x. */
function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 5) return Number.NaN; // too few points for a trend
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

/** Sends `requests` requests to `system` and samples its RSS every `everyMs`. */
export async function runSoak(
  system: RunningSystem,
  options: { requests: number; connections: number; everyMs?: number; log: (line: string) => void },
): Promise<SoakResult> {
  const everyMs = options.everyMs ?? 2_000;
  const samples: SoakSample[] = [];
  let responses = 0;
  const started = Date.now();
  const sample = () => {
    const point = { seconds: (Date.now() - started) / 1000, requests: responses, rssMb: rssKb(system.proc.pid) / 1024 };
    samples.push(point);
    return point;
  };
  const timer = setInterval(() => {
    const point = sample();
    if (samples.length % 15 === 0) options.log(`  soak ${point.requests.toLocaleString('en')} requests, RSS ${point.rssMb.toFixed(1)} MB`);
  }, everyMs);
  const foreign = watchForeignCpu();
  try {
    const result = await runLoad({
      url: `${system.url}/`,
      cookie: system.cookie,
      connections: options.connections,
      amount: options.requests,
      recordLatencies: false,
      onResponse: () => {
        responses += 1;
      },
    });
    const foreignCpuPercent = foreign.stop();
    const last = sample();
    const rss = samples.map((s) => s.rssMb);
    return {
      requests: result.ok + result.non2xx,
      seconds: result.seconds,
      rps: result.rps,
      non2xx: result.non2xx,
      errors: result.errors,
      foreignCpuPercent,
      samples,
      firstMb: samples[0]?.rssMb ?? last.rssMb,
      lastMb: last.rssMb,
      minMb: Math.min(...rss),
      maxMb: Math.max(...rss),
      trendMbPerMillion: slope(samples.filter((p) => p.requests >= options.requests / 10).map((p) => ({ x: p.requests / 1e6, y: p.rssMb }))),
    };
  } finally {
    clearInterval(timer);
  }
}
