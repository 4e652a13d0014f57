/**
 * What `npm run bench:memory` reads from a running system: /proc (resident memory and its parts, CPU ticks),
 * the memory probe's answers (bench/memory-probe.ts, asked with SIGUSR2), and wrk's figures for one load run.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Resident memory of one process, MB, from /proc/PID/status. */
export interface ProcMemory {
  rssMb: number;
  anonMb: number;
  fileMb: number;
  threads: number;
}

/** Reads VmRSS, RssAnon, RssFile and Threads. */
export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024, threads: kb('Threads') };
}

/** utime + stime of one process, clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** One V8 heap space as node:v8 reports it. */
export interface HeapSpace {
  space_name: string;
  space_size: number;
  space_used_size: number;
  physical_space_size: number;
}

/** The probe's `stats` answer. */
export interface ProbeStats {
  memoryUsage: NodeJS.MemoryUsage;
  heap: { total_heap_size: number; total_physical_size: number; used_heap_size: number; malloced_memory: number; external_memory: number };
  spaces: HeapSpace[];
  commonJsModules: number;
}

/** Sends the probe in process `pid` one command and waits for its answer (a heap snapshot takes seconds). */
export async function askProbe<T>(base: string, pid: number, command: string, timeoutMs = 120_000): Promise<T> {
  const prefix = `${base}-${pid}`;
  rmSync(`${prefix}.json`, { force: true });
  writeFileSync(`${prefix}.cmd`, command);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(`${prefix}.json`)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not answer "${command}" (was it started with the memory probe?)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const answer = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as T & { error?: string };
  if (answer.error !== undefined) throw new Error(`process ${pid} could not answer "${command}": ${answer.error}`);
  return answer;
}

/** One wrk run's figures. */
export interface WrkResult {
  requests: number;
  rps: number;
  p99Ms: number;
  non2xx: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Runs `wrk -t1 -c<connections> -d<seconds>s --latency` (on this process's CPU: the stack pins it to CPU 0). */
export async function wrk(url: string, cookie: string | undefined, connections: number, seconds: number): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(cookie ? ['-H', `Cookie: ${cookie}`] : []), url];
  const { stdout } = await run('wrk', args, { maxBuffer: 1 << 20 });
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(stdout);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? Number.NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN),
    p99Ms: p99 ? Number(p99[1]) * (UNIT_MS[p99[2] ?? 'ms'] ?? 1) : Number.NaN,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
  };
}

/** The median of some numbers (NaN for none). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
