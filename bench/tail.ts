/**
 * `npx tsx bench/tail.ts`: where the slow requests' time goes. The bare proxy and authgate (cookie and Redis
 * stores) run with bench/tail-probe.ts preloaded; each is loaded with wrk at full load and at half the bare
 * proxy's full-load rate, in interleaved rounds on fresh processes; then once more under --trace-gc-nvp.
 * Prints markdown: latency percentiles, the event loop's delay, GC pauses, and the stages of the slowest 1%
 * of requests against the median ones with the share that overlapped a GC pause or a loop stall.
 * Env: TAIL_ROUNDS (3), TAIL_SECONDS (6), TAIL_WARMUP (2), TAIL_TRACE=0 (no GC-trace pass), TAIL_RATE (the
 * half-load rate; default half the bare proxy's median), TAIL_OUT (also write the report there), TAIL_NODE_ARGS
 * (extra node flags for authgate, e.g. a young-generation size), BENCH_SYSTEMS, BENCH_PIN, BENCH_BUILD, BENCH_LOG_LEVEL.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import { buildGateway } from './build.js';
import { compileEntry } from './compile.js';
import { spawnProcess, waitForHttp } from './proc.js';
import { readSettings } from './settings.js';
import { takeNewCookies } from './sign-in.js';
import { startStack, type RunningSystem, type SystemId } from './stack.js';
import { analyseWindow, type ProbeDump } from './tail-analyse.js';
import { tailMarkdown, type TailRow, type TailRun } from './tail-report.js';
import { fileEnd, readGcTrace, type GcTrace } from './tail-trace.js';
import { wrkRunner } from './tail-wrk.js';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const ROUNDS = env('TAIL_ROUNDS', 3);
const SECONDS = env('TAIL_SECONDS', 6);
const WARMUP = env('TAIL_WARMUP', 2);
const CONNECTIONS = 32;
const settings = readSettings();
const SYSTEMS = (settings.systems.length ? settings.systems : ['bare', 'authgate-cookie', 'authgate-redis']) as SystemId[];
const extraNodeArgs = (process.env.TAIL_NODE_ARGS ?? '').split(' ').filter(Boolean);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(line);

/** Asks the probe in `pid` for its window (SIGUSR2) and reads what it wrote. */
async function dumpOf(dir: string, pid: number): Promise<ProbeDump> {
  const mine = () => readdirSync(dir).filter((name) => name.startsWith(`${pid}-`));
  const before = new Set(mine());
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 20_000; waited += 20) {
    await delay(20);
    const file = mine().find((name) => !before.has(name));
    if (!file) continue;
    try {
      const dump = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProbeDump;
      rmSync(join(dir, file));
      return dump;
    } catch {
      // still being written
    }
  }
  throw new Error(`the probe in ${pid} wrote nothing (is it loaded?)`);
}

async function main(): Promise<void> {
  if (settings.build) buildGateway(log);
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-tail-'));
  const probeDir = mkdtempSync(join(tmpdir(), 'authgate-tail-probe-'));
  process.env.TAIL_PROBE_DIR = probeDir; // the systems inherit it
  const probe = ['--import', pathToFileURL(compileEntry('bench/tail-probe.ts')).href];
  const stack = await startStack({ systems: SYSTEMS, workDir, pin: settings.pin, log, logLevel: settings.logLevel, authgateNodeArgs: [...extraNodeArgs, ...probe], bareNodeArgs: probe });
  const runWrk = wrkRunner(workDir, stack.pinned ? '0' : undefined);
  const served = new WeakSet<object>();
  const rows: TailRow[] = [];
  const traces: Array<{ id: string; trace: GcTrace }> = [];
  try {
    /** One run: fresh process, warm-up, then the measured window (probe reset before, read after). */
    const measure = async (system: RunningSystem, rate: number | undefined): Promise<TailRun> => {
      if (served.has(system.proc)) await system.restart();
      served.add(system.proc);
      if (system.cookie !== undefined) system.cookie = await takeNewCookies(`${system.url}/`, system.cookie);
      const load = { url: `${system.url}/`, cookie: system.cookie, connections: CONNECTIONS, ...(rate ? { rate } : {}) };
      await runWrk({ ...load, seconds: WARMUP });
      await dumpOf(probeDir, system.proc.pid);
      const wrk = await runWrk({ ...load, seconds: SECONDS });
      const window = analyseWindow(await dumpOf(probeDir, system.proc.pid));
      log(`  ${system.id.padEnd(16)} ${rate ? `rate ${rate.toFixed(0)}` : 'full'}: ${wrk.rps.toFixed(0)} req/s p50 ${wrk.p50.toFixed(2)} p99 ${wrk.p99.toFixed(2)} p99.9 ${wrk.p999.toFixed(2)} | server p99 ${window.server.p99.toFixed(2)}, slowest 1%: before ${window.slowest.before.toFixed(2)} to socket ${window.slowest.send.toFixed(2)} upstream ${window.slowest.upstream.toFixed(2)} after ${window.slowest.after.toFixed(2)}, GC ${(window.slowest.gcShare * 100).toFixed(0)}%, ELD p99 ${window.eld.p99.toFixed(2)}`);
      return { wrk, window };
    };
    const pass = async (load: 'full' | 'half', rate: number | undefined) => {
      const byId = new Map<string, TailRow>(stack.systems.map((s) => [s.id, { id: s.id, load, ...(rate ? { rate } : {}), runs: [] as TailRun[], ...(rate ? { p99Added: [] as number[] } : {}) }]));
      for (let round = 0; round < ROUNDS; round++) {
        log(`${load} load, round ${round + 1}/${ROUNDS}`);
        const order = stack.systems.map((_, i) => stack.systems[(i + round) % stack.systems.length]);
        const p99 = new Map<string, number>();
        for (const system of order) {
          const run = await measure(system, rate);
          byId.get(system.id)?.runs.push(run);
          p99.set(system.id, run.wrk.p99);
        }
        const bare = p99.get('bare');
        if (rate && bare !== undefined) for (const [id, value] of p99) if (id !== 'bare') byId.get(id)?.p99Added?.push(value - bare);
      }
      rows.push(...byId.values());
      return [...byId.values()];
    };
    const full = await pass('full', undefined);
    const bareRps = full.find((row) => row.id === 'bare')?.runs.map((r) => r.wrk.rps).sort((a, b) => a - b);
    const rate = process.env.TAIL_RATE ? Number(process.env.TAIL_RATE) : Math.round((bareRps?.[Math.floor(bareRps.length / 2)] ?? 4000) / 2);
    await pass('half', rate);
  } finally {
    await stack.close();
  }
  if (process.env.TAIL_TRACE !== '0') traces.push(...(await tracePass(workDir, runWrk)));
  rmSync(probeDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
  const report = tailMarkdown({ rows, traces, rounds: ROUNDS, seconds: SECONDS, notes: stack.notes });
  if (process.env.TAIL_OUT) writeFileSync(process.env.TAIL_OUT, `${report}\n`);
  console.log(report);
}

/** One full-load run of each system under --trace-gc-nvp (its stdout kept): GC totals by kind. */
async function tracePass(workDir: string, runWrk: ReturnType<typeof wrkRunner>): Promise<Array<{ id: string; trace: GcTrace }>> {
  log('GC trace pass (--trace-gc-nvp)');
  const out: Array<{ id: string; trace: GcTrace }> = [];
  const flags = ['--trace-gc-nvp'];
  const gateways = SYSTEMS.filter((id) => id !== 'bare');
  const stack = await startStack({ systems: gateways, workDir, pin: settings.pin, log, logLevel: settings.logLevel, keepLogs: true, authgateNodeArgs: [...extraNodeArgs, ...flags] });
  const traced = async (id: string, url: string, cookie: string | undefined, logFile: string) => {
    await runWrk({ url, cookie, connections: CONNECTIONS, seconds: WARMUP });
    const from = fileEnd(logFile);
    const wrk = await runWrk({ url, cookie, connections: CONNECTIONS, seconds: SECONDS });
    await delay(200); // the last lines reach the file
    out.push({ id, trace: readGcTrace(logFile, from, wrk.requests / wrk.rps || SECONDS) });
  };
  try {
    if (SYSTEMS.includes('bare')) {
      // The stack sends the bare proxy's stdout nowhere: this one, with its own upstream, keeps it.
      const cpus = stack.pinned ? { helper: '0', system: '1' } : { helper: undefined, system: undefined };
      const upstreamPort = await freePort();
      const barePort = await freePort();
      const logFile = join(workDir, 'bare-trace.log');
      const upstream = spawnProcess({ name: 'upstream-trace', args: [compileEntry('bench/systems/upstream.ts')], env: { BENCH_PORT: String(upstreamPort) }, cpus: cpus.helper });
      const bare = spawnProcess({ name: 'bare-trace', args: [...flags, compileEntry('bench/systems/bare-proxy.ts')], env: { BENCH_PORT: String(barePort), BENCH_UPSTREAM: `http://127.0.0.1:${upstreamPort}` }, cpus: cpus.system, stdoutFile: logFile });
      try {
        await waitForHttp(bare, `http://127.0.0.1:${barePort}/`, (status) => status === 200);
        await traced('bare', `http://127.0.0.1:${barePort}/`, undefined, logFile);
      } finally {
        await bare.stop();
        await upstream.stop();
      }
    }
    for (const system of stack.systems) await traced(system.id, `${system.url}/`, system.cookie, join(workDir, `${system.id}.log`));
  } finally {
    await stack.close();
  }
  return out;
}

await main();
