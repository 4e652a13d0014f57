/**
 * `npx tsx bench/memory.ts` (bench:memory): where the bare proxy's and authgate's memory goes, idle and under
 * load. Starts the bench stack with a memory probe preloaded in each Node system (bench/memory-probe.ts),
 * reads /proc and V8's heap statistics idle, takes and summarises a heap snapshot of each idle authgate,
 * restarts it (a snapshot leaves its own garbage behind), loads the systems in turn with wrk, reads them again
 * and counts the modules they loaded. Prints the Markdown "Memory" section for BENCHMARKS.md.
 * Env: BENCH_SYSTEMS (default bare,authgate-cookie,authgate-redis), BENCH_ROUNDS (3), BENCH_WARMUP (2 here),
 * BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_MEMORY_IDLE_SECONDS (5), BENCH_MEMORY_SNAPSHOT=0 (skip the
 * heap snapshots), BENCH_MEMORY_OUT (also write the section to this file), BENCH_PIN, BENCH_BUILD, BENCH_LOG_LEVEL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildGateway } from './build.js';
import { compileEntry } from './compile.js';
import { packageOf, summariseHeapSnapshot } from './memory-heap.js';
import { askProbe, cpuTicks, procMemory, wrk, type ProbeStats } from './memory-measure.js';
import { memorySection, type MemoryPhase, type SystemMemory } from './memory-report.js';
import { sampleMaxRss } from './proc.js';
import { readSettings } from './settings.js';
import { startStack, SYSTEM_LABELS, type RunningSystem, type SystemId } from './stack.js';
import { imageNodeFlags } from './systems/authgate.js';

const NODE_SYSTEMS = new Set<string>(['bare', 'authgate-cookie', 'authgate-redis']);
const TICK_US = 10_000; // CLK_TCK 100

async function main(): Promise<void> {
  const settings = readSettings();
  const ids = (settings.systems.length > 0 ? settings.systems : ['bare', 'authgate-cookie', 'authgate-redis']).filter((id) => NODE_SYSTEMS.has(id)) as SystemId[];
  const idleSeconds = Number(process.env.BENCH_MEMORY_IDLE_SECONDS ?? 5);
  const warmup = Number(process.env.BENCH_WARMUP ?? 2);
  const snapshots = process.env.BENCH_MEMORY_SNAPSHOT !== '0';
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-memory-'));
  const probeBase = join(workDir, 'probe');
  process.env.BENCH_MEMORY_PROBE = probeBase; // the systems inherit it; only those with the preload read it
  const preload = ['--import', pathToFileURL(compileEntry('bench/memory-probe.ts')).href];
  const stack = await startStack({ systems: ids, workDir, pin: settings.pin, logLevel: settings.logLevel, authgateNodeArgs: preload, bareNodeArgs: preload, log: (line) => console.error(line) });
  try {
    const phase = async (system: RunningSystem): Promise<MemoryPhase> => ({
      proc: procMemory(system.proc.pid),
      stats: await askProbe<ProbeStats>(probeBase, system.proc.pid, 'stats'),
    });
    await delay(idleSeconds * 1000);
    const results = new Map<string, SystemMemory>();
    for (const system of stack.systems) {
      results.set(system.id, { id: system.id, label: SYSTEM_LABELS[system.id], idle: await phase(system), peakRssMb: 0, rounds: [] });
    }
    if (snapshots) {
      for (const system of stack.systems.filter((s) => s.id.startsWith('authgate'))) {
        const file = join(workDir, `${system.id}.heapsnapshot`);
        console.error(`heap snapshot of ${system.id}...`);
        await askProbe(probeBase, system.proc.pid, `snapshot ${file}`);
        const result = results.get(system.id);
        if (result) result.heap = summariseHeapSnapshot(file, 12);
        rmSync(file, { force: true });
        await system.restart();
      }
    }
    console.error(`load: ${settings.rounds} rounds of ${warmup} s + ${settings.seconds} s per system...`);
    for (let round = 0; round < settings.rounds; round++) {
      for (const system of stack.systems) {
        const result = results.get(system.id);
        if (!result) continue;
        const url = `${system.url}/`;
        if (warmup > 0) await wrk(url, system.cookie, settings.connections, warmup);
        const peak = sampleMaxRss(system.proc.pid);
        const before = cpuTicks(system.proc.pid);
        const load = await wrk(url, system.cookie, settings.connections, settings.seconds);
        const ticks = cpuTicks(system.proc.pid) - before;
        result.peakRssMb = Math.max(result.peakRssMb, peak.stop());
        const rssMb = procMemory(system.proc.pid).rssMb;
        if (load.non2xx > 0) throw new Error(`${system.id}: ${load.non2xx} answers were not 2xx/3xx`);
        result.rounds.push({ requests: load.requests, rps: load.rps, p99Ms: load.p99Ms, cpuUsPerRequest: (ticks * TICK_US) / load.requests, rssMb });
        console.error(`  ${system.id}: ${load.rps.toFixed(0)} req/s, ${((ticks * TICK_US) / load.requests).toFixed(0)} µs CPU/req, p99 ${load.p99Ms} ms, RSS ${rssMb.toFixed(1)} MB`);
        if (round === settings.rounds - 1) result.loaded = await phase(system);
      }
    }
    for (const system of stack.systems) {
      const result = results.get(system.id);
      if (!result) continue;
      const answer = await askProbe<{ scripts: string[]; commonJsModules: number }>(probeBase, system.proc.pid, 'modules');
      const perPackage = new Map<string, number>();
      for (const url of new Set(answer.scripts)) perPackage.set(packageOf(url), (perPackage.get(packageOf(url)) ?? 0) + 1);
      result.modules = { commonJs: answer.commonJsModules, scripts: new Set(answer.scripts).size, packages: [...perPackage].sort((a, b) => b[1] - a[1]) };
    }
    const section = memorySection([...results.values()], {
      node: process.versions.node,
      flags: imageNodeFlags().join(' '),
      idleSeconds,
      rounds: settings.rounds,
      warmup,
      seconds: settings.seconds,
      connections: settings.connections,
    });
    console.log(section);
    if (process.env.BENCH_MEMORY_OUT) writeFileSync(process.env.BENCH_MEMORY_OUT, `${section}\n`);
  } finally {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

main().catch((err: unknown) => {
  console.error(`bench:memory: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
