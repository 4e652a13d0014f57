/**
 * The figures the issue's targets are judged on, each computed round by round from the systems' runs, and
 * the verdict on every target. Nothing is typed in by hand: every figure comes from the run.
 */
import { f, int, pct, times } from './format.js';
import { COLD_LOGINS } from './login-cost.js';
import type { RunReport } from './report.js';
import { median, type Measurement, type Run } from './rounds.js';
import type { SystemId } from './system-ids.js';

/** The figures the targets are judged on (absent: not measured in this run). */
export interface Ratios {
  cookieVsBare?: number;
  redisVsBare?: number;
  cookieVsExpress?: number;
  redisVsExpress?: number;
  /** authgate's req/s over mod_auth_openidc's with server-side sessions. */
  cookieVsModule?: number;
  redisVsModule?: number;
  /** authgate's full-load p99 over the bare proxy's. */
  p99CookieVsBare?: number;
  p99RedisVsBare?: number;
  /** authgate's full-load p99 over mod_auth_openidc's (server-side sessions). */
  p99CookieVsModule?: number;
  p99RedisVsModule?: number;
  p99AddedCookie?: number;
  p99AddedRedis?: number;
}

/** One system's measurement in a pass. */
export function byId(list: Measurement[], id: SystemId): Measurement | undefined {
  return list.find((m) => m.id === id);
}

/** True when a half-load run delivered (almost) the rate asked for. */
export function keptUp(m: Measurement): boolean {
  return m.targetRate === undefined || m.rps >= m.targetRate * 0.95;
}

/** a / b, or undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/**
 * The median over rounds of `combine(a's run, b's run)` for the two runs of the same round. The two ran one
 * after the other, so the machine's speed (which drifts by 2x here between minutes) cancels out round by
 * round; a ratio of two medians taken over different minutes keeps the drift.
 */
export function paired(a: Measurement | undefined, b: Measurement | undefined, combine: (a: Run, b: Run) => number): number | undefined {
  if (!a || !b || a.runs.length === 0 || a.runs.length !== b.runs.length) return undefined;
  return median(a.runs.map((run, i) => combine(run, b.runs[i] ?? run)));
}

/** `a`'s full-load req/s over `b`'s, round by round. */
export function rpsRatio(report: RunReport, a: SystemId, b: SystemId): number | undefined {
  return paired(byId(report.full, a), byId(report.full, b), (x, y) => ratio(x.rps, y.rps) ?? Number.NaN);
}

function p99Ratio(report: RunReport, a: SystemId, b: SystemId): number | undefined {
  return paired(byId(report.full, a), byId(report.full, b), (x, y) => ratio(x.p99, y.p99) ?? Number.NaN);
}

/**
 * authgate against the bare proxy, express-openid-connect and mod_auth_openidc (throughput and full-load
 * p99), and its p99 added at half load: each the median of the rounds' own ratios or differences.
 */
export function ratios(report: RunReport): Ratios {
  // Only meaningful when both kept the asked rate: a saturated system's p99 is its queue, not its overhead.
  const added = (id: SystemId) => {
    const own = byId(report.half, id);
    const bare = byId(report.half, 'bare');
    return own && bare && keptUp(own) && keptUp(bare) ? paired(own, bare, (x, y) => x.p99 - y.p99) : undefined;
  };
  const out: Ratios = {};
  const set = <K extends keyof Ratios>(key: K, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) out[key] = value;
  };
  set('cookieVsBare', rpsRatio(report, 'authgate-cookie', 'bare'));
  set('redisVsBare', rpsRatio(report, 'authgate-redis', 'bare'));
  set('cookieVsExpress', rpsRatio(report, 'authgate-cookie', 'express-oidc'));
  set('redisVsExpress', rpsRatio(report, 'authgate-redis', 'express-oidc'));
  set('cookieVsModule', rpsRatio(report, 'authgate-cookie', 'apache-oidc-server'));
  set('redisVsModule', rpsRatio(report, 'authgate-redis', 'apache-oidc-server'));
  set('p99CookieVsBare', p99Ratio(report, 'authgate-cookie', 'bare'));
  set('p99RedisVsBare', p99Ratio(report, 'authgate-redis', 'bare'));
  set('p99CookieVsModule', p99Ratio(report, 'authgate-cookie', 'apache-oidc-server'));
  set('p99RedisVsModule', p99Ratio(report, 'authgate-redis', 'apache-oidc-server'));
  set('p99AddedCookie', added('authgate-cookie'));
  set('p99AddedRedis', added('authgate-redis'));
  return out;
}

/** One target: what it asks, what was measured, and whether it is met. */
export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | undefined;
}

const STORES = [
  { id: 'authgate-cookie', store: 'cookie', rssMb: 100, p99AddedMs: 1 },
  { id: 'authgate-redis', store: 'Redis', rssMb: 110, p99AddedMs: 2 },
] as const;

/** The targets of issue "[3/6] Fast at the tail", judged on this run. */
export function targets(report: RunReport): TargetRow[] {
  const r = ratios(report);
  const rows: TargetRow[] = [];
  const add = (target: string, value: number | undefined, show: (v: number) => string, ok: (v: number) => boolean) =>
    rows.push({ target, measured: value === undefined ? 'not measured' : show(value), met: value === undefined ? undefined : ok(value) });
  const x = (v: number) => times(v);
  for (const { id, store, rssMb, p99AddedMs } of STORES) {
    const cookie = id === 'authgate-cookie';
    add(`authgate (${store}) p99 at full load <= 1.3x the bare proxy's`, cookie ? r.p99CookieVsBare : r.p99RedisVsBare, x, (v) => v <= 1.3);
    add(`authgate (${store}) p99 at full load below mod_auth_openidc's (server-side sessions)`, cookie ? r.p99CookieVsModule : r.p99RedisVsModule, x, (v) => v < 1);
    const target = `p99 added over the bare proxy at half load < ${p99AddedMs} ms (${store})†`;
    const own = byId(report.half, id);
    const bare = byId(report.half, 'bare');
    // A gateway that cannot sustain half the bare proxy's rate fails this target outright.
    if (own && bare && keptUp(bare) && !keptUp(own)) rows.push({ target, measured: `cannot sustain ${int(own.targetRate ?? 0)} req/s`, met: false });
    else add(target, cookie ? r.p99AddedCookie : r.p99AddedRedis, (v) => `${f(v, 3)} ms`, (v) => v < p99AddedMs);
    add(`authgate (${store}) req/s >= 1.0x the bare proxy's`, cookie ? r.cookieVsBare : r.redisVsBare, pct, (v) => v >= 1);
    add(`authgate (${store}) req/s >= 1.3x mod_auth_openidc's (server-side sessions)`, cookie ? r.cookieVsModule : r.redisVsModule, x, (v) => v >= 1.3);
    add(`authgate (${store}) req/s >= 5x express-openid-connect's`, cookie ? r.cookieVsExpress : r.redisVsExpress, x, (v) => v >= 5);
    const rss = Math.max(...[...report.full, ...report.half].filter((m) => m.id === id).map((m) => m.rssMb));
    add(`RSS under load (either pass) < ${rssMb} MB (${store})`, Number.isFinite(rss) ? rss : undefined, (v) => `${f(v, 1)} MB`, (v) => v < rssMb);
    const login = report.logins.find((l) => l.id === id);
    add(`gateway CPU per login <= 2 ms after warm-up (${store})`, login?.cpuMsPerLogin, (v) => `${f(v)} ms`, (v) => v <= 2);
    add(`gateway CPU per login <= 6 ms over the first ${COLD_LOGINS} logins (${store})`, login?.coldCpuMsPerLogin, (v) => `${f(v)} ms`, (v) => v <= 6);
  }
  return rows;
}
