/**
 * Turns one window of bench/tail-probe.ts data into figures: server-side latency percentiles, the stages of
 * the slowest 1% of requests against the median ones, how many of each overlapped a GC pause or a loop stall,
 * GC pauses by kind and the event loop's delay and utilisation.
 */

/** What the probe writes on SIGUSR2 (times in ms on performance.now()'s clock). */
export interface ProbeDump {
  pid: number;
  window: { from: number; to: number };
  cpuMs: number;
  eventLoopUtilization: number;
  eventLoopDelayMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  unmatchedUpstream: number;
  requests: Record<'start' | 'handler' | 'upstreamCreate' | 'upstreamSent' | 'upstreamHeaders' | 'upstreamDone' | 'finish', number[]>;
  gc: { start: number[]; duration: number[]; kind: number[] };
  stalls: { from: number[]; to: number[] };
}

/** The stages of a group of requests (means, ms) and the share of them overlapping a GC pause or a stall. */
export interface GroupFigures {
  n: number;
  total: number;
  /** Request start (headers parsed) → the undici request exists: hooks, guard, session, queueing between them. */
  before: number;
  /** Upstream request created → written to its socket (undici's queue and the write). */
  send: number;
  /** Written → its response headers handled: the upstream's answer and the wait for our loop to read it. */
  upstream: number;
  /** Upstream headers → our response finished (body, onSend, write). */
  after: number;
  /** GC pause time inside the requests, ms (mean). */
  gcMs: number;
  gcShare: number;
  stallShare: number;
}

/** Everything tail.ts reports of one window. */
export interface WindowFigures {
  requests: number;
  cpuUsPerRequest: number;
  server: { p50: number; p99: number; p999: number; max: number };
  slowest: GroupFigures;
  median: GroupFigures;
  eld: ProbeDump['eventLoopDelayMs'];
  elu: number;
  gc: { msPer1kRequests: number; scavenges: number; majors: number; others: number; pauseMsPerS: number; p50: number; p99: number; max: number; scavengeMean: number; majorMax: number };
  stallMsPerS: number;
}

const GC_MINOR = 1;
const GC_MAJOR = 2;

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantileOf(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Sorted, non-overlapping-by-construction intervals and a query: the overlap of [from, to] with them. */
class Intervals {
  constructor(
    private readonly from: number[],
    private readonly to: number[],
  ) {}

  static of(from: number[], to: number[]): Intervals {
    const order = from.map((_, i) => i).sort((a, b) => (from[a] ?? 0) - (from[b] ?? 0));
    return new Intervals(order.map((i) => from[i] ?? 0), order.map((i) => to[i] ?? 0));
  }

  /** Milliseconds of [from, to] covered by the intervals. */
  overlap(from: number, to: number): number {
    let lo = 0;
    let hi = this.from.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.from[mid] ?? 0) < from) lo = mid + 1;
      else hi = mid;
    }
    let covered = 0;
    // An interval that started before `from` may still run into it: step back over a few.
    for (let i = Math.max(0, lo - 8); i < this.from.length && (this.from[i] ?? 0) < to; i++) {
      const a = Math.max(from, this.from[i] ?? 0);
      const b = Math.min(to, this.to[i] ?? 0);
      if (b > a) covered += b - a;
    }
    return covered;
  }
}

/** Figures for one window of probe data. */
export function analyseWindow(dump: ProbeDump): WindowFigures {
  const r = dump.requests;
  const seconds = (dump.window.to - dump.window.from) / 1000;
  const done: number[] = [];
  for (let i = 0; i < r.start.length; i++) if ((r.finish[i] ?? 0) > 0 && (r.start[i] ?? 0) >= dump.window.from) done.push(i);
  const total = (i: number) => (r.finish[i] ?? 0) - (r.start[i] ?? 0);
  done.sort((a, b) => total(a) - total(b));
  const totals = done.map(total);

  const gcEnd = dump.gc.start.map((s, i) => s + (dump.gc.duration[i] ?? 0));
  const gcs = Intervals.of(dump.gc.start, gcEnd);
  const stalls = Intervals.of(dump.stalls.from, dump.stalls.to);
  const group = (ids: number[]): GroupFigures => {
    let before = 0, send = 0, upstream = 0, after = 0, staged = 0, gcMs = 0, withGc = 0, withStall = 0, sum = 0;
    for (const i of ids) {
      const start = r.start[i] ?? 0;
      const finish = r.finish[i] ?? 0;
      sum += finish - start;
      const create = r.upstreamCreate[i] ?? 0;
      const sent = r.upstreamSent[i] ?? 0;
      const headers = r.upstreamHeaders[i] ?? 0;
      if (create > 0 && sent > 0 && headers > 0) {
        before += create - start;
        send += sent - create;
        upstream += headers - sent;
        after += finish - headers;
        staged++;
      }
      const g = gcs.overlap(start, finish);
      gcMs += g;
      if (g > 0) withGc++;
      if (stalls.overlap(start, finish) > 0) withStall++;
    }
    const n = ids.length || 1;
    const s = staged || 1;
    return { n: ids.length, total: sum / n, before: before / s, send: send / s, upstream: upstream / s, after: after / s, gcMs: gcMs / n, gcShare: withGc / n, stallShare: withStall / n };
  };
  const onePercent = Math.max(1, Math.ceil(done.length / 100));
  const mid = Math.floor(done.length / 2);
  const medianBand = done.slice(Math.max(0, mid - onePercent / 2), Math.max(0, mid - onePercent / 2) + onePercent);

  const pauses = [...dump.gc.duration].sort((a, b) => a - b);
  const kinds = dump.gc.kind;
  const byKind = (k: number) => kinds.filter((x) => x === k).length;
  const majorMax = Math.max(0, ...dump.gc.duration.filter((_, i) => kinds[i] === GC_MAJOR));
  const scavengeDurations = dump.gc.duration.filter((_, i) => kinds[i] === GC_MINOR);
  const stallMs = dump.stalls.from.reduce((sum, from, i) => sum + ((dump.stalls.to[i] ?? from) - from - 1), 0);
  return {
    requests: done.length,
    cpuUsPerRequest: done.length ? (dump.cpuMs * 1000) / done.length : Number.NaN,
    server: { p50: quantileOf(totals, 0.5), p99: quantileOf(totals, 0.99), p999: quantileOf(totals, 0.999), max: totals[totals.length - 1] ?? Number.NaN },
    slowest: group(done.slice(done.length - onePercent)),
    median: group(medianBand),
    eld: dump.eventLoopDelayMs,
    elu: dump.eventLoopUtilization,
    gc: {
      msPer1kRequests: done.length ? (pauses.reduce((a, b) => a + b, 0) * 1000) / done.length : Number.NaN,
      scavenges: byKind(GC_MINOR) / seconds,
      majors: byKind(GC_MAJOR) / seconds,
      others: (kinds.length - byKind(GC_MINOR) - byKind(GC_MAJOR)) / seconds,
      pauseMsPerS: pauses.reduce((a, b) => a + b, 0) / seconds,
      p50: quantileOf(pauses, 0.5),
      p99: quantileOf(pauses, 0.99),
      max: pauses[pauses.length - 1] ?? 0,
      scavengeMean: scavengeDurations.length ? scavengeDurations.reduce((a, b) => a + b, 0) / scavengeDurations.length : 0,
      majorMax,
    },
    stallMsPerS: stallMs / seconds,
  };
}
