/**
 * The judging half of `npm run bench:check`: each authgate's req/s ratio to the bare proxy, round by round,
 * the noise of those ratios, the committed baseline, and the verdict. Pure apart from reading and writing
 * the baseline file, so the failure path can be exercised against a hand-edited baseline.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { f, int, times } from './format.js';
import type { LoaderKind } from './load.js';
import { textTable } from './report.js';
import { median, type Measurement } from './rounds.js';
import type { SystemId } from './system-ids.js';

/** The systems the check guards, each compared with the bare proxy of the same round. */
export const CHECKED: readonly SystemId[] = ['authgate-cookie', 'authgate-redis'];

/**
 * How many robust standard deviations (1.4826 × the median absolute deviation) of one round's ratio a drop
 * may reach before it counts as a regression: the difference of two 5-round medians varies by about 0.8 of
 * one round's spread, so two keep false alarms on an unchanged build rare while a drop bigger than the
 * rounds' own disagreement fails. The larger of the run's and the baseline run's noise is used, because with
 * 5 rounds three that happen to agree give a tiny MAD while the other two sit far off.
 */
export const NOISE_FACTOR = 2;
const MAD_TO_SIGMA = 1.4826;

/** One system's ratio in a run or a baseline. */
export interface RatioFigure {
  /** Median over the rounds of this system's req/s over the bare proxy's in the same round. */
  ratio: number;
  /** NOISE_FACTOR × 1.4826 × the median absolute deviation of the per-round ratios. */
  noise: number;
  /** This system's median req/s (machine-dependent: shown, never compared). */
  rps: number;
  /** The ratio of each round, in round order. */
  perRound: number[];
}

/** bench/baseline.json. */
export interface Baseline {
  date: string;
  commit: string;
  machine: string;
  rounds: number;
  seconds: number;
  warmup: number;
  connections: number;
  /** The load generator of its runs, and its version; a baseline without it was recorded with autocannon. */
  loader?: LoaderKind;
  loaderVersion?: string;
  bareRps: number;
  ratios: Partial<Record<SystemId, RatioFigure>>;
}

/** The noise of a list of per-round values (see NOISE_FACTOR). */
export function noiseOf(values: number[]): number {
  const mid = median(values);
  return NOISE_FACTOR * MAD_TO_SIGMA * median(values.map((v) => Math.abs(v - mid)));
}

/** The ratio figure of `own` against `bare`, round by round (both ran one after the other in each round). */
export function ratioFigure(own: Measurement, bare: Measurement): RatioFigure | undefined {
  if (own.runs.length === 0 || own.runs.length !== bare.runs.length) return undefined;
  const perRound = own.runs.map((run, i) => run.rps / (bare.runs[i]?.rps ?? Number.NaN));
  if (!perRound.every(Number.isFinite)) return undefined;
  return { ratio: median(perRound), noise: noiseOf(perRound), rps: own.rps, perRound };
}

/** One line of the check's table. */
export interface Verdict {
  id: SystemId | 'bare';
  rps: number;
  figure?: RatioFigure;
  baseline?: RatioFigure;
  /** pass, FAIL, no baseline, updated, baseline (the reference row). */
  verdict: string;
  /** Why it failed, in words, for the message after the table. */
  failure?: string;
}

/** Compares each measured ratio with the baseline; a run with failed requests fails outright. */
export function judge(full: Measurement[], baseline: Baseline | undefined, updating: boolean): Verdict[] {
  const bare = full.find((m) => m.id === 'bare');
  if (!bare) throw new Error('the bare proxy was not measured: nothing to compare with');
  const rows: Verdict[] = [{ id: 'bare', rps: bare.rps, verdict: 'reference' }];
  for (const m of full.filter((x) => CHECKED.includes(x.id))) {
    const figure = ratioFigure(m, bare);
    const base = baseline?.ratios[m.id];
    const row: Verdict = { id: m.id, rps: m.rps, ...(figure ? { figure } : {}), ...(base ? { baseline: base } : {}), verdict: 'pass' };
    const failed = m.non2xx + m.errors + bare.non2xx + bare.errors;
    if (failed > 0) {
      row.verdict = 'FAIL';
      row.failure = `${m.id}: ${m.non2xx} non-2xx answers and ${m.errors} errors (bare proxy: ${bare.non2xx}, ${bare.errors}); a run with failed requests measures nothing`;
    } else if (!figure) {
      row.verdict = 'FAIL';
      row.failure = `${m.id}: no ratio to the bare proxy could be computed`;
    } else if (updating) {
      row.verdict = 'updated';
    } else if (!base) {
      row.verdict = 'no baseline';
    } else if (base.ratio - figure.ratio > Math.max(figure.noise, base.noise)) {
      row.verdict = 'FAIL';
      row.failure =
        `${m.id}: req/s ratio to the bare proxy ${f(figure.ratio, 3)} is ${f(base.ratio - figure.ratio, 3)} below the baseline's ` +
        `${f(base.ratio, 3)}, more than the noise ±${f(Math.max(figure.noise, base.noise), 3)} (the larger of this run's ±${f(figure.noise, 3)} ` +
        `and the baseline's ±${f(base.noise, 3)}; each ${NOISE_FACTOR} × 1.4826 × MAD of its per-round ratios)`;
    }
    rows.push(row);
  }
  return rows;
}

/** The table the check prints. */
export function verdictTable(rows: Verdict[]): string {
  return textTable(
    ['system', 'req/s (median)', 'ratio to bare', 'noise', 'baseline', 'verdict'],
    rows.map((r) => [
      r.id,
      int(r.rps),
      r.id === 'bare' ? '1.00x' : times(r.figure?.ratio),
      r.figure ? `±${f(r.figure.noise, 3)}` : '',
      r.baseline ? times(r.baseline.ratio) : '',
      r.verdict,
    ]),
  );
}

/** One line per checked system with its rounds' ratios, to show where the noise came from. */
export function roundLines(rows: Verdict[]): string[] {
  return rows.flatMap((r) => (r.figure ? [`${r.id} per-round ratios: ${r.figure.perRound.map((v) => f(v, 3)).join(' ')}`] : []));
}

/**
 * Why a run with `loader` cannot be judged against `baseline`, or undefined when it can: the ratio to the bare
 * proxy depends on the load generator (with autocannon as the limit, authgate and the bare proxy looked equal).
 */
export function loaderMismatch(baseline: Baseline, loader: LoaderKind, baselinePath: string): string | undefined {
  const recorded = baseline.loader ?? 'autocannon';
  if (recorded === loader) return undefined;
  return (
    `${baselinePath} was recorded with ${recorded}${baseline.loaderVersion ? ` ${baseline.loaderVersion}` : ''} and this run would load with ${loader}: ` +
    `the ratios to the bare proxy depend on the load generator and do not compare. Re-record the baseline with ` +
    `\`npm run bench:check -- --update\` (on a quiet machine, and commit it), or run with BENCH_LOAD=${recorded}.`
  );
}

/** Reads a baseline file; undefined when there is none. */
export function readBaseline(path: string): Baseline | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Baseline;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.ratios !== 'object') throw new Error(`${path}: not a bench:check baseline`);
  return parsed;
}

/** Writes a baseline file from a run's figures. */
export function writeBaseline(path: string, baseline: Baseline): void {
  writeFileSync(path, `${JSON.stringify(baseline, null, 2)}\n`);
}
