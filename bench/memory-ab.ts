/**
 * `npx tsx bench/memory-ab.ts`: node flags and environment variants of authgate side by side, for RSS and CPU
 * per request. One stack (upstream, provider, bare proxy, one authgate); for each round and variant, authgate is
 * restarted with the variant's flags (added after the image's) and environment, warmed up, then the bare
 * proxy and authgate are loaded in turn with wrk: CPU µs per request of each (the ratio is what noise moves
 * least), p99, authgate's RSS at the end and its peak, and its V8 heap by space at the end.
 * Env: BENCH_MEMORY_VARIANTS, `name=flags|ENV=value ...;name2=...` (default: the image as it is),
 * BENCH_MEMORY_STORE (cookie | redis), BENCH_ROUNDS (3), BENCH_WARMUP (2), BENCH_SECONDS (5), BENCH_CONNECTIONS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildGateway } from './build.js';
import { compileEntry } from './compile.js';
import { askProbe, cpuTicks, median, procMemory, wrk, type ProbeStats } from './memory-measure.js';
import { sampleMaxRss } from './proc.js';
import { markdownTable } from './report.js';
import { readSettings } from './settings.js';
import { startStack, type RunningSystem } from './stack.js';

interface Variant {
  name: string;
  flags: string[];
  env: Record<string, string>;
}

interface Row {
  cpuRatio: number;
  gatewayUs: number;
  bareUs: number;
  p99Ms: number;
  bareP99Ms: number;
  rssMb: number;
  peakMb: number;
  newMb: number;
  oldMb: number;
  heapMb: number;
}

function variants(): Variant[] {
  const spec = process.env.BENCH_MEMORY_VARIANTS ?? 'image=';
  return spec.split(';').filter(Boolean).map((part) => {
    const [name = '', rest = ''] = part.split(/=(.*)/s);
    const [flags = '', env = ''] = rest.split('|');
    return {
      name,
      flags: flags.split(/\s+/).filter(Boolean),
      env: Object.fromEntries(env.split(/\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string])),
    };
  });
}

async function loadOne(system: RunningSystem, connections: number, seconds: number): Promise<{ us: number; p99Ms: number; peakMb: number }> {
  const peak = sampleMaxRss(system.proc.pid);
  const before = cpuTicks(system.proc.pid);
  const result = await wrk(`${system.url}/`, system.cookie, connections, seconds);
  const ticks = cpuTicks(system.proc.pid) - before;
  if (result.non2xx > 0) throw new Error(`${system.id}: ${result.non2xx} answers were not 2xx/3xx`);
  return { us: (ticks * 10_000) / result.requests, p99Ms: result.p99Ms, peakMb: peak.stop() };
}

async function main(): Promise<void> {
  const settings = readSettings();
  const warmup = Number(process.env.BENCH_WARMUP ?? 2);
  const store = process.env.BENCH_MEMORY_STORE === 'redis' ? 'authgate-redis' : 'authgate-cookie';
  const list = variants();
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-memory-ab-'));
  const probeBase = join(workDir, 'probe');
  process.env.BENCH_MEMORY_PROBE = probeBase;
  const preload = ['--import', pathToFileURL(compileEntry('bench/memory-probe.ts')).href];
  // The stack reads this array (and process.env) again on every restart: each variant changes them in place.
  const nodeArgs = [...preload];
  const baseEnv = { ...process.env };
  const stack = await startStack({ systems: ['bare', store], workDir, pin: settings.pin, logLevel: settings.logLevel, authgateNodeArgs: nodeArgs, log: (line) => console.error(line) });
  const rows = new Map<string, Row[]>(list.map((v) => [v.name, []]));
  try {
    const [bare, gateway] = stack.systems;
    if (!bare || !gateway) throw new Error('the systems did not start');
    for (let round = 0; round < settings.rounds; round++) {
      for (const variant of round % 2 ? [...list].reverse() : list) {
        nodeArgs.splice(0, nodeArgs.length, ...preload, ...variant.flags);
        for (const key of Object.keys(process.env)) if (!(key in baseEnv)) delete process.env[key];
        Object.assign(process.env, baseEnv, variant.env);
        await gateway.restart();
        for (const system of [bare, gateway]) await wrk(`${system.url}/`, system.cookie, settings.connections, warmup);
        const b = await loadOne(bare, settings.connections, settings.seconds);
        const g = await loadOne(gateway, settings.connections, settings.seconds);
        const stats = await askProbe<ProbeStats>(probeBase, gateway.proc.pid, 'stats');
        const space = (names: string[]) => stats.spaces.filter((s) => names.includes(s.space_name)).reduce((sum, s) => sum + s.physical_space_size, 0) / 2 ** 20;
        const row: Row = {
          cpuRatio: g.us / b.us,
          gatewayUs: g.us,
          bareUs: b.us,
          p99Ms: g.p99Ms,
          bareP99Ms: b.p99Ms,
          rssMb: procMemory(gateway.proc.pid).rssMb,
          peakMb: g.peakMb,
          newMb: space(['new_space', 'new_large_object_space']),
          oldMb: space(['old_space']),
          heapMb: stats.heap.total_physical_size / 2 ** 20,
        };
        rows.get(variant.name)?.push(row);
        console.error(`r${round + 1} ${variant.name}: ${JSON.stringify(row, (_, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`);
      }
    }
  } finally {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  const m = (name: string, key: keyof Row, digits = 1) => median((rows.get(name) ?? []).map((r) => r[key])).toFixed(digits);
  console.log(
    markdownTable(
      ['variant', 'flags / env', 'CPU vs bare', 'µs/req', 'bare µs/req', 'p99 ms', 'bare p99 ms', 'RSS end MB', 'peak RSS MB', 'new MB', 'old MB', 'V8 heap MB'],
      list.map((v) => [v.name, `\`${[...v.flags, ...Object.entries(v.env).map(([k, x]) => `${k}=${x}`)].join(' ') || '(image)'}\``, m(v.name, 'cpuRatio', 2), m(v.name, 'gatewayUs', 0), m(v.name, 'bareUs', 0), m(v.name, 'p99Ms'), m(v.name, 'bareP99Ms'), m(v.name, 'rssMb'), m(v.name, 'peakMb'), m(v.name, 'newMb'), m(v.name, 'oldMb'), m(v.name, 'heapMb')]),
    ),
  );
}

main().catch((err: unknown) => {
  console.error(`memory-ab: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
