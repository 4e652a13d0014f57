/**
 * `npx tsx bench/memory-promoted.ts`: where authgate's promoted garbage is allocated. Under load, V8's sampling
 * heap profiler runs in the gateway (through the memory probe) keeping only allocations that outlived the young
 * generation (collected by a mark-compact, or still alive): per-request objects that reach the old generation
 * make it grow between mark-compacts, which is most of the RSS under load. Prints the allocation sites and
 * stacks with the most bytes, per request.
 * Env: BENCH_MEMORY_LOAD (wrk | autocannon), BENCH_MEMORY_STORE (cookie | redis), BENCH_SECONDS (8), BENCH_CONNECTIONS, BENCH_PROFILE_TOP (20), BENCH_BUILD.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildGateway } from './build.js';
import { compileEntry } from './compile.js';
import { runLoad } from './load.js';
import { askProbe, wrk } from './memory-measure.js';
import { readSettings } from './settings.js';
import { startStack } from './stack.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const frame = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/')}:${n.callFrame.lineNumber + 1}`;

async function main(): Promise<void> {
  const settings = readSettings();
  const seconds = Number(process.env.BENCH_SECONDS ?? 8);
  const top = Number(process.env.BENCH_PROFILE_TOP ?? 20);
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-promoted-'));
  const probeBase = join(workDir, 'probe');
  process.env.BENCH_MEMORY_PROBE = probeBase;
  const id = process.env.BENCH_MEMORY_STORE === 'redis' ? 'authgate-redis' : 'authgate-cookie';
  const preload = ['--import', pathToFileURL(compileEntry('bench/memory-probe.ts')).href];
  const stack = await startStack({ systems: [id], workDir, pin: settings.pin, logLevel: settings.logLevel, authgateNodeArgs: preload, log: (line) => console.error(line) });
  try {
    const [gateway] = stack.systems;
    if (!gateway) throw new Error('the gateway did not start');
    await wrk(`${gateway.url}/`, gateway.cookie, settings.connections, 3); // warm-up
    await askProbe(probeBase, gateway.proc.pid, 'promoted-start');
    // wrk by default; BENCH_MEMORY_LOAD=autocannon loads it as the soak does (bench/load.ts).
    const load =
      process.env.BENCH_MEMORY_LOAD === 'autocannon'
        ? { requests: (await runLoad({ url: `${gateway.url}/`, cookie: gateway.cookie, connections: settings.connections, seconds, recordLatencies: false })).ok }
        : await wrk(`${gateway.url}/`, gateway.cookie, settings.connections, seconds);
    const file = join(workDir, 'promoted.heapprofile');
    await askProbe(probeBase, gateway.proc.pid, `promoted-stop ${file}`);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
    const bySite = new Map<string, number>();
    const byStack = new Map<string, number>();
    const walk = (node: ProfileNode, path: string[]) => {
      const here = [...path, frame(node)];
      bySite.set(frame(node), (bySite.get(frame(node)) ?? 0) + node.selfSize);
      if (node.selfSize > 0) {
        const key = here.slice(-4).reverse().join(' < ');
        byStack.set(key, (byStack.get(key) ?? 0) + node.selfSize);
      }
      for (const child of node.children) walk(child, here);
    };
    walk(profile.head, []);
    const total = [...bySite.values()].reduce((a, b) => a + b, 0);
    const perRequest = (bytes: number) => `${(bytes / load.requests).toFixed(0).padStart(6)} B/req`;
    console.log(`${id}: ${load.requests} requests in ${seconds} s; allocations that outlived the young generation: ${(total / 2 ** 20).toFixed(1)} MB, ${perRequest(total).trim()}`);
    console.log('\nby allocation site:');
    for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perRequest(bytes)}  ${site}`);
    console.log('\nby stack (innermost first):');
    for (const [key, bytes] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, Math.ceil(top / 2))) console.log(`${perRequest(bytes)}  ${key}`);
  } finally {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`memory-promoted: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
