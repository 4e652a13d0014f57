/** The benchmark's knobs, all from the environment so `npm run bench` needs no arguments. */
import type { LoaderKind } from './load.js';

/** Everything a run can be told. */
export interface BenchSettings {
  /** BENCH_ROUNDS: rounds per pass; each round loads every system once, in a rotating order. Default 3. */
  rounds: number;
  /** BENCH_SECONDS: measured seconds per system and round. Default 5. */
  seconds: number;
  /** BENCH_WARMUP: unmeasured seconds before each measured run. Default 3 (a fresh process's JIT settles in about 4 s). */
  warmup: number;
  /** BENCH_FRESH=0: keep one process per system for every run instead of a fresh one each (PassOptions.fresh). */
  fresh: boolean;
  /** BENCH_CONNECTIONS: concurrent connections at full load. Default 32. */
  connections: number;
  /** BENCH_HALF_LOAD=0 skips the half-load pass (p99 added latency). */
  halfLoad: boolean;
  /** BENCH_LOGINS: logins through each authgate for the CPU-per-login figure (after the warm-up); 0 skips. Default 300. */
  logins: number;
  /**
   * BENCH_LOGIN_WARMUP: unmeasured logins before those (the first 50 measured as the cold figure). Default 3000.
   * A login runs each function of its path a few times, so V8 optimises that path over thousands of logins,
   * not tens: here the gateway's CPU per login was 4.9 ms after 50 logins, 3.4 ms after 1,000, 2.4 ms after
   * 3,000 and 2.2 ms after 6,000 (the V8 compiler threads' share fell from 1 ms to nothing).
   */
  loginWarmUp: number;
  /** BENCH_LOGIN_CONCURRENCY: logins in flight at once. Default 4. */
  loginConcurrency: number;
  /** BENCH_SOAK=1: also send BENCH_SOAK_REQUESTS (default 1,000,000) to authgate (cookie store) and watch RSS. */
  soak: boolean;
  soakRequests: number;
  /**
   * BENCH_SYSTEMS: a comma list of system ids (bench/system-ids.ts): nginx-bare, apache-bare, bare, express-oidc,
   * apache-oidc-server, apache-oidc-cookie, authgate-cookie, authgate-redis. Default all; a system whose software
   * is not installed (nginx, apache2, libapache2-mod-auth-openidc, redis-server) is skipped with a note.
   */
  systems: string[];
  /** BENCH_PIN=0: no CPU pinning. */
  pin: boolean;
  /** BENCH_BUILD=0: use the existing dist/ instead of compiling src/ first. */
  build: boolean;
  /** BENCH_LOG_LEVEL: authgate's LOG_LEVEL. Default info (one access-log line per request, to /dev/null). */
  logLevel: string;
  /** BENCH_KEEP_LOGS=1: write authgate's logs to files in the work directory (kept) instead of /dev/null. */
  keepLogs: boolean;
  /** BENCH_WORKERS: authgate's server.workers (a number or auto). Default 1. */
  workers: number | 'auto';
  /**
   * BENCH_SCALING=0 skips the worker-scaling pass: authgate (cookie store) with server.workers 1 and auto, each on
   * a fresh unpinned stack, after everything else.
   */
  scaling: boolean;
  /**
   * BENCH_LOAD: wrk or autocannon, the load generator of the runs without a fixed rate (full load, worker
   * scaling, bench:check). Default: wrk when installed. Half load and the soak always use autocannon.
   */
  load: LoaderKind | undefined;
  /** BENCH_OUT: the Markdown report; "" or "-" writes none. Default BENCHMARKS.md. */
  out: string;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name}=${raw}: expected a number >= ${min}`);
  return value;
}

const flag = (env: NodeJS.ProcessEnv, name: string, fallback: boolean) =>
  env[name] === undefined || env[name] === '' ? fallback : !/^(0|false|no|off)$/i.test(env[name] ?? '');

/** Reads the settings, refusing nonsense with the variable's name. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const workers = env.BENCH_WORKERS === 'auto' ? 'auto' : number(env, 'BENCH_WORKERS', 1, 1);
  const load = env.BENCH_LOAD || undefined;
  if (load !== undefined && load !== 'wrk' && load !== 'autocannon') throw new Error(`BENCH_LOAD=${load}: expected wrk or autocannon`);
  return {
    rounds: number(env, 'BENCH_ROUNDS', 3, 1),
    seconds: number(env, 'BENCH_SECONDS', 5, 1),
    warmup: number(env, 'BENCH_WARMUP', 3, 0),
    fresh: flag(env, 'BENCH_FRESH', true),
    connections: number(env, 'BENCH_CONNECTIONS', 32, 1),
    halfLoad: flag(env, 'BENCH_HALF_LOAD', true),
    logins: number(env, 'BENCH_LOGINS', 300, 0),
    loginWarmUp: number(env, 'BENCH_LOGIN_WARMUP', 3000, 0),
    loginConcurrency: number(env, 'BENCH_LOGIN_CONCURRENCY', 4, 1),
    soak: flag(env, 'BENCH_SOAK', false),
    soakRequests: number(env, 'BENCH_SOAK_REQUESTS', 1_000_000, 1),
    systems: (env.BENCH_SYSTEMS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    pin: flag(env, 'BENCH_PIN', true),
    build: flag(env, 'BENCH_BUILD', true),
    logLevel: env.BENCH_LOG_LEVEL || 'info',
    keepLogs: flag(env, 'BENCH_KEEP_LOGS', false),
    workers,
    scaling: flag(env, 'BENCH_SCALING', true),
    load,
    out: env.BENCH_OUT ?? 'BENCHMARKS.md',
  };
}
