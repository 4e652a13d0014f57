/**
 * `npm run bench:profile`: authgate under load with `node --cpu-prof`, then the top self-time functions and
 * modules of the profile, to find what the per-request path spends its time on.
 * Env: BENCH_PROFILE_STORE (cookie | redis, default cookie), BENCH_PROFILE_SECONDS (default 10),
 * BENCH_PROFILE_TOP (default 15), BENCH_PROFILE_DIR (where the .cpuprofile is kept; default a temporary
 * directory), and BENCH_CONNECTIONS, BENCH_PIN, BENCH_BUILD, BENCH_LOG_LEVEL as for `npm run bench`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGateway } from './build.js';
import { formatSummary, summarise, type CpuProfile } from './cpuprofile.js';
import { runLoad } from './load.js';
import { ROOT } from './proc.js';
import { readSettings, type BenchSettings } from './settings.js';
import { startStack } from './stack.js';

async function main(): Promise<void> {
  const settings = readSettings();
  const store = process.env.BENCH_PROFILE_STORE === 'redis' ? 'redis' : 'cookie';
  const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
  const top = Number(process.env.BENCH_PROFILE_TOP ?? 15);
  if (!(seconds > 0) || !(top > 0)) throw new Error('BENCH_PROFILE_SECONDS and BENCH_PROFILE_TOP must be positive numbers');
  const profileDir = resolve(process.env.BENCH_PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'authgate-profile-')));
  mkdirSync(profileDir, { recursive: true });
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-bench-'));
  try {
    await profileGateway({ store, seconds, top, profileDir, workDir, settings });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Starts the stack with a profiling gateway, loads it, stops it and prints the profile's summary. */
async function profileGateway(o: { store: 'cookie' | 'redis'; seconds: number; top: number; profileDir: string; workDir: string; settings: BenchSettings }): Promise<void> {
  const { store, seconds, top, profileDir, workDir, settings } = o;
  const stack = await startStack({
    systems: [store === 'redis' ? 'authgate-redis' : 'authgate-cookie'],
    workDir,
    pin: settings.pin,
    logLevel: settings.logLevel,
    authgateNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    log: (line) => console.log(line),
  });
  try {
    const [gateway] = stack.systems;
    if (!gateway) throw new Error('the gateway did not start');
    const before = new Set(readdirSync(profileDir));
    console.log(`profiling ${gateway.id} for ${seconds} s at ${settings.connections} connections...`);
    const result = await runLoad({ url: `${gateway.url}/`, cookie: gateway.cookie, connections: settings.connections, seconds, recordLatencies: false });
    console.log(`  ${result.rps.toFixed(0)} req/s, ${result.non2xx} non-2xx, ${result.errors} errors`);
    // The profile is written when the process exits: SIGTERM lets authgate shut down the normal way.
    await gateway.proc.stop();
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile') && !before.has(name));
    if (!file) throw new Error(`no .cpuprofile appeared in ${profileDir} (did the gateway exit cleanly?):\n${gateway.proc.stderrTail()}`);
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
    console.log(`\n${formatSummary(summarise(profile, ROOT, top))}`);
    console.log('(the profile covers the whole process life: start-up, the sign-in and shutdown are in it too, hence most of the idle time)');
    console.log(`\nprofile: ${join(profileDir, file)} (open it in Chrome DevTools → Performance, or VS Code)`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:profile: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
