/**
 * The measuring loop: every round loads each system once (rotating who goes first, so no system always runs
 * right after the same neighbour), with an unmeasured warm-up before each measured run and the system's RSS
 * sampled while it is under load.
 */
import { runLoad, type LoadOptions, type LoaderKind, type LoadResult } from './load.js';
import { cpuMs, sampleMaxRss, watchForeignCpu } from './proc.js';
import { takeNewCookies } from './sign-in.js';
import type { RunningSystem, SystemId } from './stack.js';

/** One measured run and how busy the system's process was meanwhile. */
export interface Run extends LoadResult {
  /** The system's CPU time over the run's wall time (100 = one core fully used). */
  cpuPercent: number;
  /** CPU used meanwhile by processes that are not part of the benchmark, % of one core. */
  foreignCpuPercent: number;
}

/** One system's results over all rounds of a pass. */
export interface Measurement {
  id: SystemId;
  runs: Run[];
  /** Medians over the rounds. */
  rps: number;
  p50: number;
  p99: number;
  cpuPercent: number;
  /** The most CPU other processes used during one of the runs, % of one core. */
  foreignCpuPercent: number;
  /** The largest RSS seen under load, MB. */
  rssMb: number;
  non2xx: number;
  errors: number;
  /** The rate asked for (half-load pass), requests/s. */
  targetRate?: number;
}

/** How a pass runs. */
export interface PassOptions {
  rounds: number;
  seconds: number;
  warmup: number;
  connections: number;
  /** A fixed request rate (half load, always autocannon); unset: full load. */
  rate?: number;
  /** The load generator of a full-load pass (load.ts chooseLoader); unset: load.ts defaultLoader(). */
  loader?: LoaderKind;
  /** The upstream's pid, to show in the progress lines whether it (not the system) was the limit. */
  upstreamPid?: number;
  /**
   * Each run on a fresh process of its system: one that served a run already is restarted first. On these
   * virtual machines a process keeps the speed it started with (the same process measured within a few
   * percent round after round, two processes of the same build up to a third apart), so a system measured in
   * one process only is measured with that one process's luck; the median over rounds of fresh processes is not.
   */
  fresh?: boolean;
  log: (line: string) => void;
}

/** The processes that have served a measured run. */
const served = new WeakSet<RunningSystem['proc']>();

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** One measured run of one system, with the CPU of everything involved read around it. */
async function measureRun(system: RunningSystem, load: LoadOptions, options: PassOptions): Promise<{ run: Run; rssMb: number; cpuLine: string }> {
  const pid = system.proc.pid;
  const sampler = sampleMaxRss(pid);
  const before = { system: cpuMs(pid), upstream: options.upstreamPid ? cpuMs(options.upstreamPid) : 0, loader: process.cpuUsage() };
  const foreign = watchForeignCpu();
  const wallStarted = process.hrtime.bigint();
  const result = await runLoad(load);
  // wrk has exited by now, so watchForeignCpu (which counts live children as ours) took its CPU for others'.
  const wallMs = Number(process.hrtime.bigint() - wallStarted) / 1e6;
  const foreignCpuPercent = Math.max(0, foreign.stop() - ((result.loaderCpuMs ?? 0) / wallMs) * 100);
  const rssMb = sampler.stop();
  const percent = (ms: number) => ms / (result.seconds * 10);
  const loaderUsage = process.cpuUsage(before.loader);
  const loaderMs = (loaderUsage.user + loaderUsage.system) / 1000 + (result.loaderCpuMs ?? 0);
  const run: Run = { ...result, cpuPercent: percent(cpuMs(pid) - before.system), foreignCpuPercent };
  const upstream = options.upstreamPid ? `, upstream ${fmt(percent(cpuMs(options.upstreamPid) - before.upstream), 0)}%` : '';
  const cpuLine = `CPU ${fmt(run.cpuPercent, 0)}% (loader ${fmt(percent(loaderMs), 0)}%${upstream}, others ${fmt(foreignCpuPercent, 0)}%)`;
  return { run, rssMb, cpuLine };
}

/** Runs `rounds` rounds over `systems` and returns one Measurement per system, in the systems' order. */
export async function measurePass(systems: RunningSystem[], options: PassOptions): Promise<Measurement[]> {
  const runs = new Map<SystemId, Run[]>(systems.map((s) => [s.id, []]));
  const rss = new Map<SystemId, number>(systems.map((s) => [s.id, 0]));
  for (let round = 0; round < options.rounds; round += 1) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length]);
    for (const system of order) {
      // A process that served a measured run already is replaced by a fresh one (see PassOptions.fresh).
      if (options.fresh && served.has(system.proc)) await system.restart();
      served.add(system.proc);
      // Like a browser, the load takes the cookie the system last set (its idle clock may have moved on).
      if (system.cookie !== undefined) system.cookie = await takeNewCookies(`${system.url}/`, system.cookie);
      const load: LoadOptions = { url: `${system.url}/`, cookie: system.cookie, connections: options.connections, ...(options.rate ? { rate: options.rate } : {}), ...(options.loader ? { loader: options.loader } : {}) };
      if (options.warmup > 0) await runLoad({ ...load, seconds: options.warmup, recordLatencies: false });
      const { run, rssMb, cpuLine } = await measureRun(system, { ...load, seconds: options.seconds }, options);
      rss.set(system.id, Math.max(rss.get(system.id) ?? 0, rssMb));
      runs.get(system.id)?.push(run);
      const trouble = run.non2xx + run.errors > 0 ? `  !! ${run.non2xx} non-2xx, ${run.errors} errors` : '';
      options.log(
        `  round ${round + 1}/${options.rounds} ${system.id.padEnd(16)} ${fmt(run.rps, 0).padStart(7)} req/s  p50 ${fmt(run.p50)} ms  p99 ${fmt(run.p99)} ms  ${cpuLine}, RSS ${fmt(rssMb, 1)} MB, pid ${system.proc.pid}${trouble}`,
      );
    }
  }
  return systems.map((system) => {
    const list = runs.get(system.id) ?? [];
    return {
      id: system.id,
      runs: list,
      rps: median(list.map((r) => r.rps)),
      p50: median(list.map((r) => r.p50)),
      p99: median(list.map((r) => r.p99)),
      cpuPercent: median(list.map((r) => r.cpuPercent)),
      foreignCpuPercent: Math.max(0, ...list.map((r) => r.foreignCpuPercent)),
      rssMb: rss.get(system.id) ?? 0,
      non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
      errors: list.reduce((sum, r) => sum + r.errors, 0),
      ...(options.rate ? { targetRate: options.rate } : {}),
    };
  });
}
