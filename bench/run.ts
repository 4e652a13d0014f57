/**
 * `npm run bench`: authgate against a bare fastify proxy, express-openid-connect and (when installed) nginx,
 * Apache and Apache + mod_auth_openidc, in the same run, on the same machine. Builds the gateway, starts every
 * server in its own process, signs in once per system, loads them in alternating rounds at full and at half
 * load, measures gateway CPU per login (and, with BENCH_SOAK=1, RSS over a million requests), then authgate
 * with one worker against server.workers: auto (BENCH_SCALING=0 skips that), prints the tables and writes
 * BENCHMARKS.md.
 * Settings come from the environment: see bench/settings.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildGateway } from './build.js';
import { apacheErrors } from './systems/apache.js';
import { defaultLoader, loaderFor, loaderLabel } from './load.js';
import { measureLoginCost, type LoginCost } from './login-cost.js';
import { machineInfo } from './machine.js';
import { markdownReport } from './markdown.js';
import { ROOT } from './proc.js';
import { consoleReport, type RunReport } from './report.js';
import { measurePass, type Measurement } from './rounds.js';
import { measureScaling } from './scaling.js';
import { readSettings, type BenchSettings } from './settings.js';
import { runSoak, type SoakResult } from './soak.js';
import { SYSTEM_IDS, startStack, type Stack, type SystemId } from './stack.js';
import { withKeptSections } from './kept-sections.js';
import { OIDC_MODULE } from './system-ids.js';

const log = (line: string) => console.log(line);

function chosenSystems(settings: BenchSettings): SystemId[] {
  if (settings.systems.length === 0) return [...SYSTEM_IDS];
  const unknown = settings.systems.filter((s) => !(SYSTEM_IDS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`BENCH_SYSTEMS: unknown ${unknown.join(', ')} (known: ${SYSTEM_IDS.join(', ')})`);
  return SYSTEM_IDS.filter((id) => settings.systems.includes(id));
}

/** Every measurement of a run on the main stack; the report without machine, the scaling pass and elapsed time. */
async function measureAll(stack: Stack, settings: BenchSettings): Promise<Omit<RunReport, 'machine' | 'elapsed' | 'scaling'>> {
  const notes = [...stack.notes];
  const loader = defaultLoader();
  const pass = { rounds: settings.rounds, seconds: settings.seconds, warmup: settings.warmup, connections: settings.connections, upstreamPid: stack.upstream.pid, fresh: settings.fresh, loader, log };
  const loaders = { full: loaderLabel(loader), half: loaderLabel(loaderFor({ rate: 1 })), soak: loaderLabel(loaderFor({ amount: 1 })) };
  log(`\nfull load (${loaders.full}): ${settings.connections} connections, ${settings.rounds} round(s) × (${settings.warmup} s warm-up + ${settings.seconds} s)`);
  const full = await measurePass(stack.systems, pass);

  let half: Measurement[] = [];
  const bare = full.find((m) => m.id === 'bare');
  if (settings.halfLoad && bare && bare.rps > 0) {
    const rate = Math.round(bare.rps / 2);
    log(`\nhalf load (${loaders.half}): ${rate} req/s (half the bare proxy's ${Math.round(bare.rps)})`);
    half = await measurePass(stack.systems, { ...pass, rate });
  } else if (settings.halfLoad) {
    notes.push('The half-load pass needs the bare proxy (its rate sets the load) and was skipped.');
  }

  const logins: LoginCost[] = [];
  // The gateways whose logins are measured: authgate and, the same way, the C module's httpd process tree.
  for (const system of stack.systems.filter((s) => s.id.startsWith('authgate') || OIDC_MODULE.has(s.id))) {
    if (settings.logins === 0) break;
    log(`\nlogins: ${settings.logins} through ${system.id}`);
    const cost = await measureLoginCost(system, stack.idp, settings.logins, settings.loginConcurrency, settings.loginWarmUp);
    log(`  ${cost.loginsPerSecond.toFixed(1)} logins/s, gateway CPU ${cost.cpuMsPerLogin.toFixed(2)} ms/login (first logins: ${cost.coldCpuMsPerLogin.toFixed(2)}), provider ${cost.idpCpuMsPerLogin.toFixed(1)} ms/login`);
    if (cost.failures) notes.push(`${cost.failures} of ${settings.logins} logins through ${system.id} failed; the first: ${cost.firstError}`);
    logins.push(cost);
  }

  let soak: SoakResult | undefined;
  const cookieGateway = stack.systems.find((s) => s.id === 'authgate-cookie');
  if (settings.soak && cookieGateway) {
    log(`\nsoak: ${settings.soakRequests.toLocaleString('en')} requests to authgate-cookie`);
    soak = await runSoak(cookieGateway, { requests: settings.soakRequests, connections: settings.connections, log });
  } else if (settings.soak) {
    notes.push('The soak needs authgate-cookie in BENCH_SYSTEMS and was skipped.');
  }

  if (settings.workers !== 1) notes.push(`authgate ran with server.workers: ${settings.workers} (not pinned to one CPU).`);
  return { settings, pinned: stack.pinned, loaders, full, half, logins, soak, notes };
}

async function main(): Promise<void> {
  const started = Date.now();
  const settings = readSettings();
  const ids = chosenSystems(settings);
  defaultLoader(); // before the build: BENCH_LOAD=wrk without wrk fails at once, a missing wrk is noted first
  // Read first: the load average is meant to say how quiet the machine was before the benchmark started.
  const machine = machineInfo();
  if (settings.build) buildGateway();
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-bench-'));
  let report: RunReport;
  try {
    const stack = await startStack({
      systems: ids,
      workDir,
      pin: settings.pin,
      logLevel: settings.logLevel,
      keepLogs: settings.keepLogs,
      authgateWorkers: settings.workers,
      log,
    });
    let measured: Awaited<ReturnType<typeof measureAll>>;
    try {
      measured = await measureAll(stack, settings);
    } finally {
      await stack.close();
    }
    for (const { id } of stack.systems.filter((s) => s.id.startsWith('apache'))) {
      const errors = apacheErrors(workDir, id);
      if (errors.length) measured.notes.push(`${id} wrote ${errors.length} warning/error lines to its error log; the first: ${errors[0]}`);
    }
    // Once the main stack is gone: the scaling pass starts its own stacks, unpinned.
    const scaling = settings.scaling && ids.includes('authgate-cookie') ? await measureScaling(settings, workDir, log) : undefined;
    if (settings.scaling && !scaling) measured.notes.push('The worker-scaling pass needs authgate-cookie in BENCH_SYSTEMS and was skipped.');
    report = { machine, ...measured, scaling, elapsed: (Date.now() - started) / 1000 };
  } finally {
    if (settings.keepLogs) log(`logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  log(`\n${consoleReport(report)}`);
  if (settings.out !== '' && settings.out !== '-') {
    const path = resolve(ROOT, settings.out);
    writeFileSync(path, withKeptSections(markdownReport(report), existsSync(path) ? readFileSync(path, 'utf8') : ''));
    log(`\nwrote ${settings.out}`);
  }
}

process.on('SIGINT', () => process.exit(130));
main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
