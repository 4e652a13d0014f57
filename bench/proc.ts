/**
 * Child processes for the benchmark: every server runs in its own process (optionally pinned to a CPU with
 * taskset) so its CPU time and memory can be read from /proc and it does not share an event loop with the
 * load generator.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here so `--import tsx` and bare imports resolve. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Clock ticks per second of /proc/PID/stat's utime and stime (CLK_TCK, 100 on Linux almost everywhere). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const STOP_GRACE_MS = 10_000;
const STDERR_TAIL = 8_000;

/** A server process started by the benchmark. */
export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string | null>;
  /** The last few KB the process wrote to stderr, to explain a failure. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** How to start one server process. */
export interface SpawnOptions {
  name: string;
  /** The executable; default: this Node binary. */
  command?: string;
  args: string[];
  env?: Record<string, string>;
  /** A CPU list for taskset ("0", "1", "0-1"); undefined: no pinning. */
  cpus?: string | undefined;
  /** Where stdout goes; default /dev/null (authgate logs a line per request: nobody should pay to read it). */
  stdoutFile?: string | undefined;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a process; it is killed when the benchmark exits, whatever happens. */
export function spawnProcess(options: SpawnOptions): BenchProcess {
  const command = options.command ?? process.execPath;
  const [file, args] = options.cpus === undefined ? [command, options.args] : ['taskset', ['-c', options.cpus, command, ...options.args]];
  const stdout = options.stdoutFile === undefined ? 'ignore' : openSync(options.stdoutFile, 'a');
  let child: ChildProcess;
  try {
    // taskset execs the command, so the pid is the server's own.
    child = spawn(file, args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', stdout, 'pipe'] });
  } finally {
    if (typeof stdout === 'number') closeSync(stdout);
  }
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${file}`);
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    });
  });
  const pid = child.pid;
  return {
    name: options.name,
    pid,
    child,
    exited,
    stderrTail: () => stderr,
    async stop() {
      if (!running.has(child)) return;
      child.kill('SIGTERM');
      const fallback = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(fallback);
    },
  };
}

/** Starts a TypeScript entry point of bench/ under tsx. */
export function spawnTsx(name: string, entry: string, env: Record<string, string>, cpus: string | undefined): BenchProcess {
  return spawnProcess({ name, args: ['--import', 'tsx', entry], env, cpus });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `url` until `accept(status)` holds; rejects with the process's stderr when it exits or time runs out. */
export async function waitForHttp(proc: BenchProcess, url: string, accept: (status: number) => boolean, timeoutMs = 30_000): Promise<void> {
  let exitedWith: number | string | null | undefined;
  void proc.exited.then((code) => (exitedWith = code));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (exitedWith !== undefined) throw new Error(`${proc.name} exited (${exitedWith}) before it was ready:\n${proc.stderrTail()}`);
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (accept(response.status)) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} was not ready at ${url} within ${timeoutMs} ms (${last}):\n${proc.stderrTail()}`);
    await delay(100);
  }
}

/** The direct children of a process (a cluster primary's workers), from /proc; none when it is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function ownRssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory in KB of a process and its descendants (cluster workers count), from /proc/PID/status. */
export function rssKb(pid: number): number {
  return ownRssKb(pid) + childPids(pid).reduce((sum, child) => sum + rssKb(child), 0);
}

function ownCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/**
 * CPU time (user + system) in ms a process and its live descendants (cluster workers) have used so far, from
 * /proc/PID/stat; resolution one clock tick. Throws when `pid` itself is gone.
 */
export function cpuMs(pid: number): number {
  return ownCpuMs(pid) + childPids(pid).reduce((sum, child) => sum + (safeCpuMs(child) ?? 0), 0);
}

/** Samples a process tree's RSS every `everyMs` until stopped; `stop()` returns the largest value seen, in MB. */
export function sampleMaxRss(pid: number, everyMs = 200): { stop(): number } {
  let max = rssKb(pid);
  const timer = setInterval(() => {
    max = Math.max(max, rssKb(pid));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, rssKb(pid));
      return max / 1024;
    },
  };
}

/** Pins this process (all its threads) to `cpus`; returns false when taskset is missing or refuses. */
export function pinSelf(cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CPUs this process could use when it started, read before pinSelf can narrow them. */
export const STARTING_CPUS = (() => {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
})();

/**
 * Undoes pinSelf: this process, and every process it starts from now on (children inherit the CPU mask, and
 * os.availableParallelism() reads it), may use all the CPUs it could at start-up again.
 */
export function unpinSelf(): void {
  if (STARTING_CPUS !== undefined) pinSelf(STARTING_CPUS);
}

/** CPU time in ms the whole machine has spent busy (not idle, not waiting for I/O), from /proc/stat. */
export function machineBusyMs(): number {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLOCK_TICKS;
}

/**
 * Watches how much CPU processes other than ours use meanwhile (other jobs on a shared machine distort every
 * number). Ours are this process and its descendants: every server of the benchmark is one. `stop()` returns
 * the others' use as a percentage of one core over the wall time.
 */
export function watchForeignCpu(): { stop(): number } {
  const start = { machine: machineBusyMs(), ours: cpuMs(process.pid), at: process.hrtime.bigint() };
  return {
    stop() {
      const wallMs = Number(process.hrtime.bigint() - start.at) / 1e6;
      const foreign = machineBusyMs() - start.machine - (cpuMs(process.pid) - start.ours);
      return Math.max(0, (foreign / wallMs) * 100);
    },
  };
}

function safeCpuMs(pid: number): number | undefined {
  try {
    return cpuMs(pid);
  } catch {
    return undefined;
  }
}
