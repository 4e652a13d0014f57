/**
 * `npm run bench:check` must fail an authgate whose ratio to the bare proxy fell by more than the noise, pass
 * one within it, never pass a run whose requests failed, and refuse a baseline made with another load
 * generator; its baseline must say what it compares with.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { judge, loaderMismatch, type Baseline } from '../../bench/check-verdict.js';
import type { Measurement, Run } from '../../bench/rounds.js';
import type { SystemId } from '../../bench/system-ids.js';
import { ROOT } from '../helpers/gateway.js';

const run = (rps: number, non2xx = 0): Run => ({ rps, ok: rps, non2xx, errors: 0, p50: 1, p99: 2, seconds: 1, cpuPercent: 100, foreignCpuPercent: 0 });
const measured = (id: SystemId, rates: number[], non2xx = 0): Measurement => ({
  id,
  runs: rates.map((r) => run(r, non2xx)),
  rps: [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)] ?? 0,
  p50: 1,
  p99: 2,
  cpuPercent: 100,
  foreignCpuPercent: 0,
  rssMb: 100,
  non2xx: non2xx * rates.length,
  errors: 0,
});
const bare = measured('bare', [1000, 1000, 1000, 1000, 1000]);
const baseline = (ratio: number, noise = 0.02): Baseline => ({
  date: '2026-01-01T00:00:00Z', commit: 'abc', machine: 'test', rounds: 5, seconds: 3, warmup: 3, connections: 32, bareRps: 1000,
  ratios: { 'authgate-cookie': { ratio, noise, rps: 900, perRound: [ratio] } },
});

describe('bench:check verdicts', () => {
  it('fails a ratio that fell by more than the noise, naming ratio, baseline and noise', () => {
    const rows = judge([bare, measured('authgate-cookie', [800, 810, 790, 805, 795])], baseline(0.9), false);
    const row = rows.find((r) => r.id === 'authgate-cookie');
    assert.equal(row?.verdict, 'FAIL');
    assert.match(row?.failure ?? '', /ratio to the bare proxy 0\.800 .* baseline's 0\.900, more than the noise ±0\.020 \(the larger of this run's ±0\.015/);
  });

  it('passes a ratio within the noise, and one that rose', () => {
    for (const rates of [[890, 900, 880, 910, 895], [1000, 990, 1010, 1000, 1005]]) {
      const rows = judge([bare, measured('authgate-cookie', rates)], baseline(0.9), false);
      assert.equal(rows.find((r) => r.id === 'authgate-cookie')?.verdict, 'pass');
    }
  });

  it('fails a run with failed requests even when its ratio looks fine', () => {
    const rows = judge([bare, measured('authgate-cookie', [900, 900, 900, 900, 900], 3)], baseline(0.9), false);
    assert.match(rows.find((r) => r.id === 'authgate-cookie')?.failure ?? '', /non-2xx/);
  });

  it('refuses a baseline recorded with another load generator, saying how to re-record it', () => {
    const refusal = loaderMismatch({ ...baseline(0.9), loader: 'autocannon', loaderVersion: '8.0.0' }, 'wrk', 'bench/baseline.json');
    assert.match(refusal ?? '', /bench\/baseline\.json was recorded with autocannon 8\.0\.0 and this run would load with wrk/);
    assert.match(refusal ?? '', /npm run bench:check -- --update/);
    assert.match(loaderMismatch({ ...baseline(0.9), loader: 'wrk' }, 'autocannon', 'b.json') ?? '', /recorded with wrk .* BENCH_LOAD=wrk/);
    assert.equal(loaderMismatch({ ...baseline(0.9), loader: 'wrk' }, 'wrk', 'b.json'), undefined);
  });

  it('takes a baseline without a load generator for an autocannon one (recorded before wrk was used)', () => {
    assert.equal(loaderMismatch(baseline(0.9), 'autocannon', 'b.json'), undefined);
    assert.match(loaderMismatch(baseline(0.9), 'wrk', 'b.json') ?? '', /recorded with autocannon and this run would load with wrk/);
  });

  it('has a committed baseline with the ratio, date, commit, rounds and load generator', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'bench/baseline.json'), 'utf8')) as Baseline;
    assert.ok(committed.ratios['authgate-cookie'] && committed.ratios['authgate-cookie'].ratio > 0);
    assert.ok(committed.date && committed.commit && committed.rounds >= 1);
    assert.ok(committed.loader === 'wrk' || committed.loader === 'autocannon');
  });
});
