/**
 * `npm run bench:check`: a short regression guard for the request path (about 2 minutes). The bare fastify
 * proxy and authgate (cookie store; Redis too when redis-server is installed) in interleaved rounds, a fresh
 * process per system and round as in `npm run bench`; each authgate's req/s over the bare proxy's, round by
 * round, is compared with bench/baseline.json. Exits 1 when a ratio fell by more than the run's own noise
 * (bench/check-verdict.ts). `-- --update` (or BENCH_CHECK_UPDATE=1) rewrites the baseline from the run;
 * BENCH_CHECK_BASELINE names another baseline file. The load generator is the full-load pass's (BENCH_LOAD, wrk
 * when installed); a baseline recorded with the other one is refused before anything runs. Writes no BENCHMARKS.md.
 * The other knobs are bench/settings.ts's (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_BUILD, ...),
 * with shorter defaults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { buildGateway } from './build.js';
import { CHECKED, judge, loaderMismatch, readBaseline, ratioFigure, roundLines, verdictTable, writeBaseline, type Baseline } from './check-verdict.js';
import { f, plural } from './format.js';
import { machineInfo } from './machine.js';
import { defaultLoader, loaderLabel, loaderVersion, type LoaderKind } from './load.js';
import { ROOT } from './proc.js';
import { measurePass, type Measurement } from './rounds.js';
import { readSettings, type BenchSettings } from './settings.js';
import { startStack } from './stack.js';
import { missingSoftware, type SystemId } from './system-ids.js';

const log = (line: string) => console.log(line);

/** The short run's defaults; anything set in the environment wins. */
const SHORT: NodeJS.ProcessEnv = { BENCH_ROUNDS: '5', BENCH_SECONDS: '3', BENCH_WARMUP: '3' };

const flagSet = (value: string | undefined) => value !== undefined && value !== '' && !/^(0|false|no|off)$/i.test(value);

function baselineFrom(full: Measurement[], settings: BenchSettings, machine: ReturnType<typeof machineInfo>, loader: LoaderKind): Baseline {
  const bare = full.find((m) => m.id === 'bare');
  if (!bare) throw new Error('the bare proxy was not measured');
  const ratios: Baseline['ratios'] = {};
  for (const m of full) {
    const figure = CHECKED.includes(m.id) ? ratioFigure(m, bare) : undefined;
    const round4 = (n: number) => Number(n.toFixed(4));
    if (figure) ratios[m.id] = { ratio: round4(figure.ratio), noise: round4(figure.noise), rps: Math.round(figure.rps), perRound: figure.perRound.map(round4) };
  }
  return {
    date: machine.date,
    commit: machine.commit,
    machine: `${machine.cpuModel}, ${machine.cores} cores`,
    rounds: settings.rounds,
    seconds: settings.seconds,
    warmup: settings.warmup,
    connections: settings.connections,
    loader,
    loaderVersion: loaderVersion(loader),
    bareRps: Math.round(bare.rps),
    ratios,
  };
}

/** Differences between how the baseline and this run were measured (the ratios shift with them). */
function mismatches(baseline: Baseline, settings: BenchSettings): string[] {
  const keys = ['rounds', 'seconds', 'warmup', 'connections'] as const;
  return keys.filter((k) => baseline[k] !== settings[k]).map((k) => `${k} ${settings[k]} (baseline: ${baseline[k]})`);
}

async function main(): Promise<number> {
  const started = Date.now();
  const settings = readSettings({ ...SHORT, ...process.env });
  const updating = process.argv.includes('--update') || flagSet(process.env.BENCH_CHECK_UPDATE);
  const baselinePath = resolve(ROOT, process.env.BENCH_CHECK_BASELINE || 'bench/baseline.json');
  const shownPath = relative(ROOT, baselinePath).startsWith('..') ? baselinePath : relative(ROOT, baselinePath);
  const baseline = readBaseline(baselinePath);
  if (!baseline && !updating) {
    console.error(`bench:check: no baseline at ${shownPath}; create one with \`npm run bench:check -- --update\``);
    return 1;
  }
  const loader = defaultLoader();
  const refusal = baseline && !updating ? loaderMismatch(baseline, loader, shownPath) : undefined;
  if (refusal) {
    console.error(`bench:check: ${refusal}`);
    return 1;
  }
  const machine = machineInfo();
  const systems: SystemId[] = ['bare', ...CHECKED.filter((id) => !missingSoftware(id))];
  if (settings.build) buildGateway(log);
  const workDir = mkdtempSync(join(tmpdir(), 'authgate-bench-check-'));
  let full: Measurement[];
  let notes: string[];
  try {
    const stack = await startStack({ systems, workDir, pin: settings.pin, logLevel: settings.logLevel, keepLogs: settings.keepLogs, log });
    notes = [...stack.notes];
    try {
      log(`\n${loaderLabel(loader)}, ${settings.connections} connections, ${plural(settings.rounds, 'round')} × (${settings.warmup} s warm-up + ${settings.seconds} s), a fresh process per run`);
      full = await measurePass(stack.systems, {
        rounds: settings.rounds,
        seconds: settings.seconds,
        warmup: settings.warmup,
        connections: settings.connections,
        upstreamPid: stack.upstream.pid,
        fresh: settings.fresh,
        loader,
        log,
      });
    } finally {
      await stack.close();
    }
  } finally {
    if (settings.keepLogs) log(`logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const rows = judge(full, baseline, updating);
  log(`\n${verdictTable(rows)}`);
  for (const line of roundLines(rows)) log(line);
  if (baseline) log(`baseline: ${shownPath}, ${baseline.date}, commit ${baseline.commit}, ${plural(baseline.rounds, 'round')} × ${baseline.seconds} s with ${baseline.loader ?? 'autocannon'} on ${baseline.machine}`);
  for (const note of notes) log(`note: ${note}`);
  for (const id of CHECKED) {
    if (baseline?.ratios[id] && !full.some((m) => m.id === id)) log(`note: ${id} is in the baseline but was not measured this time`);
  }
  const differ = baseline && !updating ? mismatches(baseline, settings) : [];
  if (differ.length) log(`note: measured differently from the baseline: ${differ.join(', ')}; the ratios may not compare`);
  const worstForeign = Math.max(0, ...full.map((m) => m.foreignCpuPercent));
  if (worstForeign > 10) log(`note: other processes took up to ${f(worstForeign, 0)}% of a core during the runs; rerun on a quiet machine before trusting a FAIL`);
  log(`took ${f((Date.now() - started) / 1000, 0)} s`);

  const failures = rows.filter((r) => r.failure);
  if (failures.length) {
    for (const r of failures) console.error(`bench:check FAILED: ${r.failure}`);
    return 1;
  }
  if (updating) {
    writeBaseline(baselinePath, baselineFrom(full, settings, machine, loader));
    log(`wrote ${shownPath}`);
  }
  return 0;
}

process.on('SIGINT', () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:check: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
