/**
 * `npm run bench:profile`: authgate and the bare proxy under load with `node --cpu-prof`, then the top
 * self-time functions and modules of authgate's profile and, per request, what authgate spends beyond the
 * bare proxy: what the per-request path costs, function by function.
 * With BENCH_PROFILE_LOGINS=N it profiles N full logins through authgate instead (after the benchmark's
 * warm-up logins), per login: what the gateway's CPU per login is spent on.
 * Env: BENCH_PROFILE_STORE (cookie | redis | dpop: the cookie store with oidc.dpop; default cookie), BENCH_PROFILE_SECONDS (default 10),
 * BENCH_PROFILE_TOP (default 15), BENCH_PROFILE_DIR (where the .cpuprofile is kept; default a temporary
 * directory), and BENCH_CONNECTIONS, BENCH_PIN, BENCH_BUILD, BENCH_LOG_LEVEL as for `npm run bench`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGateway } from './build.js';
import { formatPerRequest, formatPerUnit, formatSummary, selfTimes, summarise, type CpuProfile, type ProfileWindow } from './cpuprofile.js';
import { loginBatch, measureLoginCost } from './login-cost.js';
import { runLoad } from './load.js';
import { ROOT } from './proc.js';
import { readSettings, type BenchSettings } from './settings.js';
import { startStack, type RunningSystem } from './stack.js';

async function main(): Promise<void> {
  const settings = readSettings();
  const wanted = process.env.BENCH_PROFILE_STORE;
  const store = wanted === 'redis' || wanted === 'dpop' ? wanted : 'cookie';
  const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
  const top = Number(process.env.BENCH_PROFILE_TOP ?? 15);
  if (!(seconds > 0) || !(top > 0)) throw new Error('BENCH_PROFILE_SECONDS and BENCH_PROFILE_TOP must be positive numbers');
  const profileDir = resolve(process.env.BENCH_PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'authgate-profile-')));
  mkdirSync(profileDir, { recursive: true });
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-bench-'));
  try {
    const logins = Number(process.env.BENCH_PROFILE_LOGINS ?? 0);
    if (logins > 0) await profileLogins({ store, logins, top, profileDir, workDir, settings });
    else await profileGateway({ store, seconds, top, profileDir, workDir, settings });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** A profiled system's load: its 2xx responses and the load window on the profile's clock. */
interface ProfiledLoad {
  requests: number;
  window: ProfileWindow;
}

/** Loads one system for `seconds` and notes the window (the same monotonic clock V8's profiler uses). */
async function loadProfiled(system: RunningSystem, seconds: number, connections: number): Promise<ProfiledLoad> {
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const result = await runLoad({ url: `${system.url}/`, cookie: system.cookie, connections, seconds, recordLatencies: false });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  console.log(`  ${system.id}: ${result.rps.toFixed(0)} req/s, ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { requests: result.ok, window: { fromUs, toUs } };
}

/** Stops a profiled process and reads the profile it wrote on exit. */
async function readProfileOf(system: RunningSystem, dir: string): Promise<CpuProfile> {
  await system.proc.stop(); // SIGTERM: both shut down the normal way, which writes the profile
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile appeared in ${dir} (did ${system.id} exit cleanly?):\n${system.proc.stderrTail()}`);
  console.log(`profile of ${system.id}: ${join(dir, file)} (open it in Chrome DevTools → Performance, or VS Code)`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
}

/**
 * Starts the stack with the bare proxy and the gateway both profiled, loads each in turn, stops them and
 * prints the gateway's profile summary and the per-request difference to the bare proxy.
 */
async function profileGateway(o: { store: 'cookie' | 'redis' | 'dpop'; seconds: number; top: number; profileDir: string; workDir: string; settings: BenchSettings }): Promise<void> {
  const { store, seconds, top, profileDir, workDir, settings } = o;
  const gatewayDir = join(profileDir, `authgate-${store}-${Date.now()}`);
  const bareDir = join(profileDir, `bare-${Date.now()}`);
  const stack = await startStack({
    systems: ['bare', `authgate-${store}` as const],
    workDir,
    pin: settings.pin,
    logLevel: settings.logLevel,
    authgateNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${gatewayDir}`],
    bareNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${bareDir}`],
    log: (line) => console.log(line),
  });
  try {
    const [bare, gateway] = stack.systems;
    if (!bare || !gateway) throw new Error('the systems did not start');
    console.log(`profiling for ${seconds} s each at ${settings.connections} connections...`);
    // Warm both up first so the measured windows hold no JIT warm-up.
    for (const system of [bare, gateway]) await runLoad({ url: `${system.url}/`, cookie: system.cookie, connections: settings.connections, seconds: 1, recordLatencies: false });
    const bareLoad = await loadProfiled(bare, seconds, settings.connections);
    const gatewayLoad = await loadProfiled(gateway, seconds, settings.connections);
    const gatewayProfile = await readProfileOf(gateway, gatewayDir);
    const bareProfile = await readProfileOf(bare, bareDir);
    console.log(`\n${gateway.id}, the whole process life (start-up, the sign-in and shutdown are in it too, hence most of the idle time):`);
    console.log(formatSummary(summarise(gatewayProfile, ROOT, top)));
    console.log(`\n${gateway.id} against the bare proxy, inside the load windows only:`);
    console.log(
      formatPerRequest(
        { times: selfTimes(gatewayProfile, ROOT, gatewayLoad.window), requests: gatewayLoad.requests },
        { times: selfTimes(bareProfile, ROOT, bareLoad.window), requests: bareLoad.requests },
        top,
      ),
    );
  } finally {
    await stack.close();
  }
}

/** Profiles `logins` full logins through the gateway, after the warm-up ones. */
async function profileLogins(o: { store: 'cookie' | 'redis' | 'dpop'; logins: number; top: number; profileDir: string; workDir: string; settings: BenchSettings }): Promise<void> {
  const { store, logins, top, profileDir, workDir, settings } = o;
  const gatewayDir = join(profileDir, `authgate-${store}-logins-${Date.now()}`);
  const stack = await startStack({
    systems: [`authgate-${store}` as const],
    workDir,
    pin: settings.pin,
    logLevel: settings.logLevel,
    authgateNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${gatewayDir}`],
    log: (line) => console.log(line),
  });
  try {
    const [gateway] = stack.systems;
    if (!gateway) throw new Error('the gateway did not start');
    console.log(`${settings.loginWarmUp} warm-up logins...`);
    await loginBatch(gateway, stack.idp, settings.loginWarmUp, settings.loginConcurrency);
    console.log(`profiling ${logins} logins...`);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const cost = await measureLoginCost(gateway, stack.idp, logins, settings.loginConcurrency, 0);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    console.log(`  ${cost.logins} logins, ${cost.failures} failed; gateway CPU ${cost.cpuMsPerLogin.toFixed(2)} ms per login (profiler included)`);
    const profile = await readProfileOf(gateway, gatewayDir);
    console.log(`\n${formatPerUnit(selfTimes(profile, ROOT, { fromUs, toUs }), cost.logins, 'login', top)}`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:profile: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
