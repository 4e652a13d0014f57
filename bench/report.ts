/**
 * Turns a run's numbers into tables, ratios and the verdict on each target of the benchmark issue, for the
 * terminal and (through markdown.ts) for BENCHMARKS.md. Nothing here is measured or typed in by hand: every
 * figure comes from the run that calls it.
 */
import { f, int, plural, times } from './format.js';
import type { LoginCost } from './login-cost.js';
import type { Machine } from './machine.js';
import { byId, keptUp, paired, ratio, rpsRatio, targets } from './ratios.js';
import { median, type Measurement } from './rounds.js';
import type { ScalingResult } from './scaling.js';
import type { BenchSettings } from './settings.js';
import type { SoakResult } from './soak.js';

/** Everything a run produced. */
export interface RunReport {
  machine: Machine;
  settings: BenchSettings;
  pinned: boolean;
  /** The load generator (with its version) of each kind of pass: full load and worker scaling, half load, soak. */
  loaders: { full: string; half: string; soak: string };
  full: Measurement[];
  half: Measurement[];
  logins: LoginCost[];
  soak: SoakResult | undefined;
  /** authgate-cookie with one worker and with auto, unpinned (BENCH_SCALING). */
  scaling: ScalingResult | undefined;
  notes: string[];
  /** Wall-clock seconds of the whole run. */
  elapsed: number;
}

export { f, int, pct, plural, times } from './format.js';
export { ratios } from './ratios.js';

const mark = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? 'met' : 'NOT met');
const trouble = (m: Measurement) => (m.non2xx + m.errors > 0 ? `${m.non2xx} non-2xx, ${m.errors} errors` : 'none');

/** The slowest and the fastest of a measurement's rounds, requests/s. */
function rateRange(m: Measurement): { low: number; high: number } {
  const rates = m.runs.map((run) => run.rps);
  return { low: Math.min(...rates), high: Math.max(...rates) };
}

/** The system's CPU time per 2xx response, µs: the median over rounds (CPU % of a core over req/s). */
function cpuUsPerRequest(m: Measurement): number {
  return median(m.runs.map((run) => (run.rps > 0 ? (run.cpuPercent * 10_000) / run.rps : Number.NaN)));
}

function fullRows(report: RunReport): string[][] {
  return report.full.map((m) => {
    const { low, high } = rateRange(m);
    const vsBare = m.id === 'bare' ? '1.00' : f(rpsRatio(report, m.id, 'bare'));
    return [m.id, int(m.rps), `${int(low)}–${int(high)}`, vsBare, f(cpuUsPerRequest(m), 0), f(m.p50), f(m.p99), f(m.cpuPercent, 0), f(m.rssMb, 1), f(m.foreignCpuPercent, 0), trouble(m)];
  });
}

function halfRows(report: RunReport): string[][] {
  const bare = byId(report.half, 'bare');
  return report.half.map((m) => {
    const saturated = keptUp(m) ? '' : ' (cannot keep up)';
    const added = bare && m.id !== 'bare' ? (keptUp(m) && keptUp(bare) ? f(paired(m, bare, (x, y) => x.p99 - y.p99) ?? Number.NaN, 3) : 'n/a') : '–';
    return [m.id, int(m.targetRate ?? 0), `${int(m.rps)}${saturated}`, f(m.p50, 3), f(m.p99, 3), added, f(m.cpuPercent, 0), f(m.foreignCpuPercent, 0), trouble(m)];
  });
}

const FULL_HEAD = ['system', 'req/s (median)', 'rounds min–max', 'vs bare proxy', 'CPU µs/req', 'p50 ms', 'p99 ms', 'CPU %', 'max RSS MB', 'others CPU %', 'errors'];
const HALF_HEAD = ['system', 'rate asked', 'req/s', 'p50 ms', 'p99 ms', 'p99 added ms', 'CPU %', 'others CPU %', 'errors'];
const LOGIN_HEAD = ['system', 'logins', 'logins/s', 'gateway CPU ms/login', 'first 50 logins: gateway CPU ms/login', 'provider CPU ms/login', 'gateway / provider CPU', 'failures'];
const SCALING_HEAD = ['workers', 'cores used', 'req/s (median)', 'p50 ms', 'p99 ms', 'CPU %', 'max RSS MB'];

function loginRows(report: RunReport): string[][] {
  return report.logins.map((l) => [l.id, String(l.logins), f(l.loginsPerSecond, 1), f(l.cpuMsPerLogin), f(l.coldCpuMsPerLogin), f(l.idpCpuMsPerLogin, 1), f(l.cpuMsPerLogin / l.idpCpuMsPerLogin), String(l.failures)]);
}

function scalingRows(report: RunReport): string[][] {
  return (report.scaling?.rows ?? []).map(({ workers, processes, measurement: m }) => [String(workers), String(processes), int(m.rps), f(m.p50), f(m.p99), f(m.cpuPercent, 0), f(m.rssMb, 1)]);
}

/** What `auto` bought over one worker, and any failed responses (the table has no column for them). */
export function scalingLine(scaling: ScalingResult): string {
  const rps = (workers: 1 | 'auto') => scaling.rows.find((row) => row.workers === workers)?.measurement.rps;
  const failed = scaling.rows.filter((row) => row.measurement.non2xx + row.measurement.errors > 0);
  const failures = failed.map((row) => `workers ${row.workers}: ${trouble(row.measurement)}`).join('; ');
  return `auto / 1 worker: ${times(ratio(rps('auto'), rps(1)))}${failures ? ` (${failures})` : ''}`;
}

/** A plain-text table for the terminal, numbers right-aligned. */
export function textTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub Markdown table, numbers right-aligned. */
export function markdownTable(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** The largest share of a core other processes took during any run; above this the numbers are suspect. */
const FOREIGN_CPU_LIMIT = 10;

/** A warning when other processes competed for the CPU during the measured runs. */
export function disturbance(report: RunReport): string | undefined {
  const scaling = report.scaling?.rows.map((row) => row.measurement) ?? [];
  const worst = Math.max(0, ...[...report.full, ...report.half, ...scaling].map((m) => m.foreignCpuPercent), report.soak?.foreignCpuPercent ?? 0);
  if (worst <= FOREIGN_CPU_LIMIT) return undefined;
  return `Other processes, the hypervisor (steal time) or kernel interrupt work took up to ${worst.toFixed(0)}% of a core during the measured runs (load average ${report.machine.loadAverage} at the start): every figure here is disturbed by them. Rerun on an otherwise idle machine.`;
}

/** Above this max/min spread between the bare proxy's own rounds, ratios against it are called imprecise. */
const SPREAD_LIMIT = 1.15;

/** A warning when the bare proxy's own full-load rounds spread widely: a ratio is only as precise as that spread. */
function spread(report: RunReport): string | undefined {
  const bare = byId(report.full, 'bare');
  if (!bare || bare.runs.length < 2) return undefined;
  const { low, high } = rateRange(bare);
  if (low > 0 && high / low <= SPREAD_LIMIT) return undefined;
  return `The bare proxy's own rounds ranged from ${int(low)} to ${int(high)} req/s: the same build ran at different speeds within this run, so each ratio to the bare proxy is only as precise as that spread. The ratios are medians of per-round ratios; one close to its target is not settled by this run.`;
}

/** A table: its header and its rows of cells. */
export interface Table {
  head: string[];
  rows: string[][];
}

/** The run's tables: full load, half load, logins, worker scaling and the targets. */
export function tables(report: RunReport): { full: Table; half: Table; logins: Table; scaling: Table; targets: Table } {
  return {
    full: { head: FULL_HEAD, rows: fullRows(report) },
    half: { head: HALF_HEAD, rows: halfRows(report) },
    logins: { head: LOGIN_HEAD, rows: loginRows(report) },
    scaling: { head: SCALING_HEAD, rows: scalingRows(report) },
    targets: { head: ['target', 'measured', ''], rows: targets(report).map((t) => [t.target, t.measured, mark(t.met)]) },
  };
}

/** The tables, ratios and targets for the terminal. */
export function consoleReport(report: RunReport): string {
  const t = tables(report);
  const { settings } = report;
  const parts = [`Full load (${report.loaders.full}, ${settings.connections} connections, median of ${plural(settings.rounds, 'round')} × ${settings.seconds} s):`, textTable(t.full.head, t.full.rows)];
  if (report.half.length) parts.push('', `Half load (${report.loaders.half}, a fixed rate of half the bare proxy's full-load req/s):`, textTable(t.half.head, t.half.rows));
  if (report.logins.length) parts.push('', 'Full logins:', textTable(t.logins.head, t.logins.rows));
  if (report.soak) parts.push('', soakLine(report.soak));
  if (report.scaling) {
    parts.push('', `Worker scaling (authgate, cookie store, nothing pinned; auto = ${plural(report.scaling.cores, 'core')}):`, textTable(t.scaling.head, t.scaling.rows), scalingLine(report.scaling));
  }
  parts.push('', 'Targets:', textTable(t.targets.head, t.targets.rows));
  for (const note of allNotes(report)) parts.push(`note: ${note}`);
  return parts.join('\n');
}

/** Below this share of its core at full load, a system was not what limited its own req/s. */
const SATURATED_CPU_PERCENT = 85;

/** The systems that did not use their core at full load (the fastest floors can outrun the load generator). */
function unsaturated(report: RunReport): string | undefined {
  const idle = report.full.filter((m) => m.cpuPercent < SATURATED_CPU_PERCENT);
  if (idle.length === 0) return undefined;
  const list = idle.map((m) => `${m.id} ${f(m.cpuPercent, 0)}%`).join(', ');
  return `At full load some systems used less than ${SATURATED_CPU_PERCENT}% of their core (${list}): the load generator and the upstream on the other core set their req/s, so it is a lower bound; their CPU µs/req still compares.`;
}

/** The run's notes, the warnings about a disturbed or imprecise run first. */
export function allNotes(report: RunReport): string[] {
  return [disturbance(report), spread(report), unsaturated(report), ...report.notes].filter((note): note is string => note !== undefined);
}

/** The soak in one sentence. */
export function soakLine(soak: SoakResult): string {
  return `Soak (authgate, cookie store): ${int(soak.requests)} requests in ${f(soak.seconds, 0)} s (${int(soak.rps)} req/s, ${soak.non2xx} non-2xx, ${soak.errors} errors, others used ${f(soak.foreignCpuPercent, 0)}% of a core meanwhile); RSS first ${f(soak.firstMb, 1)} MB, last ${f(soak.lastMb, 1)} MB, min ${f(soak.minMb, 1)} MB, max ${f(soak.maxMb, 1)} MB, trend ${soak.trendMbPerMillion >= 0 ? '+' : ''}${f(soak.trendMbPerMillion, 1)} MB per million requests (least squares, after the first tenth)`;
}
