/**
 * One full-load run with wrk (C, one thread): the load generator the figures were made with. autocannon
 * runs on the bench's own event loop and on this machine tops out near the bare proxy's req/s, so it, not the
 * system, set the full-load figures. wrk inherits the bench's CPU mask (CPU 0 with the helpers when pinned)
 * and reports through bench/wrk-report.lua, one `WRK_RESULT key=value ...` line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from './load.js';
import { CLOCK_TICKS } from './proc.js';

/** The Lua script that sends the cookie, counts non-2xx answers and prints the result line. */
export const WRK_SCRIPT = fileURLToPath(new URL('wrk-report.lua', import.meta.url));

/** What wrk-report.lua prints, in wrk's own units (microseconds). */
export interface WrkReport {
  requests: number;
  durationUs: number;
  non2xx: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** wrk's own count of answers >= 400 (a subset of non2xx). */
  status: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

const FIELDS: Record<string, keyof WrkReport> = {
  requests: 'requests',
  duration_us: 'durationUs',
  non2xx: 'non2xx',
  connect: 'connect',
  read: 'read',
  write: 'write',
  timeout: 'timeout',
  status: 'status',
  p50_us: 'p50Us',
  p99_us: 'p99Us',
  p999_us: 'p999Us',
  max_us: 'maxUs',
};

/** Reads the WRK_RESULT line out of wrk's stdout; throws (quoting the output) when it is missing or incomplete. */
export function parseWrkOutput(stdout: string): WrkReport {
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_RESULT '));
  if (!line) throw new Error(`wrk printed no WRK_RESULT line:\n${stdout.slice(-2000)}`);
  const report: Partial<WrkReport> = {};
  for (const pair of line.slice('WRK_RESULT '.length).trim().split(/\s+/)) {
    const [key = '', raw = ''] = pair.split('=');
    const field = FIELDS[key];
    const value = Number(raw);
    if (field && raw !== '' && Number.isFinite(value)) report[field] = value;
  }
  const missing = Object.values(FIELDS).filter((field) => report[field] === undefined);
  if (missing.length) throw new Error(`wrk's WRK_RESULT line lacks ${missing.join(', ')}: ${line}`);
  return report as WrkReport;
}

/** A WrkReport as the benchmark's LoadResult; latencies in ms (NaN without answers), over every answer, not only 2xx. */
export function wrkLoadResult(report: WrkReport, loaderCpuMs?: number): LoadResult {
  const seconds = report.durationUs / 1e6;
  const ok = report.requests - report.non2xx;
  return {
    rps: seconds > 0 ? ok / seconds : 0,
    ok,
    non2xx: report.non2xx,
    errors: report.connect + report.read + report.write + report.timeout,
    // wrk reports percentiles of an empty histogram as 0: a run that got no answer has no latency.
    p50: report.requests > 0 ? report.p50Us / 1000 : Number.NaN,
    p99: report.requests > 0 ? report.p99Us / 1000 : Number.NaN,
    seconds,
    ...(loaderCpuMs !== undefined ? { loaderCpuMs } : {}),
  };
}

let version: string | null | undefined;

/** wrk's version ("debian/4.1.0-3+b2"), or null when wrk is not installed. `wrk -v` exits 1 after printing it. */
export function wrkVersion(): string | null {
  if (version !== undefined) return version;
  let out: string;
  try {
    out = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const failed = err as { code?: string; stdout?: string };
    out = failed.code === 'ENOENT' ? '' : String(failed.stdout ?? '');
  }
  version = /^wrk (\S+)/m.exec(out)?.[1] ?? null;
  return version;
}

/** CPU time (ms) of this process's children that have exited and been reaped: wrk's, once it is gone. */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}

/** Runs `wrk -t1 -c<connections> -d<seconds>s` once against options.url. */
export function runWrk(options: LoadOptions): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(options.seconds ?? 5));
  const args = ['-t1', `-c${options.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_SCRIPT, options.url];
  const cpuBefore = reapedChildrenCpuMs();
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, WRK_COOKIE: options.cookie ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}${stdout.slice(-2000)}`));
        return;
      }
      try {
        resolve(wrkLoadResult(parseWrkOutput(stdout), reapedChildrenCpuMs() - cpuBefore));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
