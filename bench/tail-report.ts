/** The tail benchmark's markdown: latency, event loop and GC, the slowest 1% against the median, the GC trace. */
import type { WindowFigures } from './tail-analyse.js';
import type { GcTrace } from './tail-trace.js';
import type { WrkResult } from './tail-wrk.js';

/** One measured run: what wrk saw and what the probe saw inside the system. */
export interface TailRun {
  wrk: WrkResult;
  window: WindowFigures;
}

/** The runs of one system in one pass (full or half load). */
export interface TailRow {
  id: string;
  load: 'full' | 'half';
  rate?: number;
  runs: TailRun[];
  /** Per round: this run's wrk p99 minus the bare proxy's in the same round (half load). */
  p99Added?: number[];
}

const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '–');
const m = (row: TailRow, pick: (run: TailRun) => number) => median(row.runs.map(pick));
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const loadName = (row: TailRow) => (row.load === 'full' ? 'full' : `half (${f(row.rate ?? Number.NaN, 0)}/s)`);

/** The report. */
export function tailMarkdown(o: { rows: TailRow[]; traces: Array<{ id: string; trace: GcTrace }>; rounds: number; seconds: number; notes: string[] }): string {
  const { rows } = o;
  const out: string[] = [];
  out.push(`Medians over ${o.rounds} interleaved rounds of ${o.seconds} s per system and load (a fresh process per run); wrk -t1 -c32 on CPU 0, each system alone on CPU 1.`);
  out.push('Client latency is wrk\'s; "server" is the probe\'s, from the request\'s headers parsed to its response finished.', '');
  out.push('### Latency', '');
  out.push(
    table(
      ['system', 'load', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'p99 added ms', 'server p50', 'server p99', 'server p99.9', 'CPU µs/req', 'errors'],
      rows.map((row) => [
        row.id, loadName(row), f(m(row, (r) => r.wrk.rps), 0), f(m(row, (r) => r.wrk.p50)), f(m(row, (r) => r.wrk.p99)), f(m(row, (r) => r.wrk.p999)),
        f(m(row, (r) => r.wrk.max)), row.p99Added ? f(median(row.p99Added)) : '–', f(m(row, (r) => r.window.server.p50)),
        f(m(row, (r) => r.window.server.p99)), f(m(row, (r) => r.window.server.p999)), f(m(row, (r) => r.window.cpuUsPerRequest), 0),
        String(row.runs.reduce((s, r) => s + r.wrk.non2xx + r.wrk.errors, 0)),
      ]),
    ),
  );
  out.push('', '### Event loop and GC (inside the process)', '');
  out.push(
    table(
      ['system', 'load', 'loop busy (ELU)', 'loop delay p50 ms', 'p99 ms', 'max ms', 'stalls > 1 ms, ms/s', 'scavenges/s', 'scavenge mean ms', 'major GCs/s', 'GC pause ms/s', 'GC ms per 1k req', 'pause p99 ms', 'pause max ms'],
      rows.map((row) => [
        row.id, loadName(row), pct(m(row, (r) => r.window.elu)), f(m(row, (r) => r.window.eld.p50)), f(m(row, (r) => r.window.eld.p99)),
        f(m(row, (r) => r.window.eld.max)), f(m(row, (r) => r.window.stallMsPerS), 0), f(m(row, (r) => r.window.gc.scavenges), 1),
        f(m(row, (r) => r.window.gc.scavengeMean)), f(m(row, (r) => r.window.gc.majors), 2), f(m(row, (r) => r.window.gc.pauseMsPerS), 1),
        f(m(row, (r) => r.window.gc.msPer1kRequests), 1), f(m(row, (r) => r.window.gc.p99)), f(m(row, (r) => r.window.gc.max)),
      ]),
    ),
  );
  out.push('', '### The slowest 1% of requests against the median ones (server side, ms)', '');
  out.push('"before upstream": headers parsed → undici request created (hooks, guard, session; waiting for the loop between them); "to socket": → written to the upstream socket; "upstream": → its response headers read; "after": → our response finished.', '');
  const groupRows: string[][] = [];
  for (const row of rows) {
    for (const [name, pick] of [['median', (r: TailRun) => r.window.median], ['slowest 1%', (r: TailRun) => r.window.slowest]] as const) {
      groupRows.push([
        row.id, loadName(row), name, f(m(row, (r) => pick(r).total)), f(m(row, (r) => pick(r).before)), f(m(row, (r) => pick(r).send)), f(m(row, (r) => pick(r).upstream)),
        f(m(row, (r) => pick(r).after)), f(m(row, (r) => pick(r).gcMs)), pct(m(row, (r) => pick(r).gcShare)), pct(m(row, (r) => pick(r).stallShare)),
      ]);
    }
  }
  out.push(table(['system', 'load', 'requests', 'total', 'before upstream', 'to socket', 'upstream', 'after', 'GC pause inside', 'overlap a GC', 'overlap a stall > 1 ms'], groupRows));
  if (o.traces.length > 0) {
    out.push('', `### GC trace (--trace-gc-nvp, one full-load run of ${o.traces[0]?.trace.seconds ?? '?'} s each)`, '');
    out.push(
      table(
        ['system', '', 'scavenges/s', 'scavenge pause p50 ms', 'p99 ms', 'max ms', 'GC pause ms/s', 'mark-compacts', 'their pause max ms', 'incremental steps', 'steps ms', 'promoted KB/scavenge', 'promoted MB/s'],
        o.traces.map(({ id, trace: t }) => [
          id, 'full', f(t.scavenges / t.seconds, 1), f(t.scavengePause.p50), f(t.scavengePause.p99), f(t.scavengePause.max),
          f((t.scavengePause.sum + t.markPause.sum) / t.seconds, 1), String(t.marks), f(t.markPause.max), String(t.incrementalSteps), f(t.incrementalMs, 1),
          f(t.promotedKbPerScavenge, 0), f(t.promotedMbPerS),
        ]),
      ),
    );
  }
  if (o.notes.length > 0) out.push('', ...o.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
