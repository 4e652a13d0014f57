/**
 * The per-request fast paths write what the libraries they bypass would write: the request line is the
 * line pino writes for the same fields, and the batched request metrics expose what prom-client's own
 * Counter and Histogram expose for the same observations.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { createAccessLog } from '../../src/observability/access-log.js';
import { createLogger, isoTimeAt } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { lines, stream };
}

/** A line without its time, which differs between two writes. */
const withoutTime = (line: string) => line.replace(/,"time":"[^"]+"/, '');

describe('request line', () => {
  // user and remoteAddr come from outside (the provider's sub, a trusted proxy's X-Forwarded-For entry).
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    ['plain', 'GET', '/reports/2026', 'f3a1c2d4-0000-4000-8000-000000000001', '10.1.2.3'],
    ['quotes, backslashes and control characters', 'POST', '/a"b\\c\u0001d', 'sub"with\\odd\u0002chars', 'junk"\\\u0003'],
    ['non-ASCII and a line separator', 'GET', '/caf\u00e9/\u2028/\u{1f600}', 'j\u00fcrgen\u2028', 'fe80::1%eth0'],
    ['signed out', 'GET', '/', undefined, '::1'],
    ['no address (the socket closed)', 'GET', '/', 'alice', undefined],
  ];
  for (const withPid of [false, true]) {
    for (const [name, method, path, user, remoteAddr] of cases) {
      it(`is the line pino writes for the same fields (${name}${withPid ? ', with pid' : ''})`, async () => {
        const { lines, stream } = capture();
        const log = createLogger(stream, 'info', withPid);
        createAccessLog(log)('abc-1', method, path, 201, 1.23456, 'app', user, remoteAddr);
        log.info({ reqId: 'abc-1', method, path, status: 201, responseTime: 1.23, upstream: 'app', user, remoteAddr }, 'request');
        log.flush();
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(lines.length, 2);
        assert.equal(withoutTime(lines[0] ?? ''), withoutTime(lines[1] ?? ''));
        assert.match(lines[0] ?? '', /"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/);
        assert.equal((JSON.parse(lines[0] ?? '') as { path: string }).path, path);
      });
    }
  }

  it('is not written when the level is above info', async () => {
    const { lines, stream } = capture();
    const log = createLogger(stream, 'warn');
    createAccessLog(log)('abc-2', 'GET', '/', 200, 1, 'app', 'alice', '127.0.0.1');
    log.warn('visible');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['visible']);
  });
});

describe('log timestamps', () => {
  it('are Date#toISOString across millisecond, second, minute, day and year boundaries, in any order', () => {
    const at = (iso: string) => Date.parse(iso);
    const times = [at('2026-12-31T23:59:59.998Z'), at('2026-12-31T23:59:59.999Z'), at('2027-01-01T00:00:00.000Z'), at('2027-01-01T00:00:00.001Z')];
    times.push(at('2027-01-01T00:00:00.000Z'), at('2026-12-31T23:59:59.999Z')); // the clock stepping back
    for (let i = 0; i < 2000; i++) times.push(at('2026-12-02T06:55:49.000Z') + Math.floor(Math.random() * 86_400_000));
    for (let t = at('2026-06-30T23:59:58.990Z'); t < at('2026-07-01T00:00:01.010Z'); t++) times.push(t);
    for (const t of times) assert.equal(isoTimeAt(t), `,"time":"${new Date(t).toISOString()}"`);
  });
});

describe('batched request metrics', () => {
  it('expose the counts, buckets, sums and counts of prom-client Counter and Histogram', async () => {
    const metrics = createMetrics();
    const reference = new Registry();
    const requests = new Counter({ name: 'authgate_http_requests_total', help: 'h', labelNames: ['upstream', 'status'], registers: [reference] });
    const duration = new Histogram({
      name: 'authgate_http_request_duration_seconds',
      help: 'h',
      labelNames: ['upstream'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    const observations: Array<[string, number, number]> = [
      ['app', 200, 0.0004],
      ['app', 200, 0.001],
      ['app', 302, 0.003],
      ['gateway', 401, 0.02],
      ['app', 502, 12],
      ['app', 200, 0.7],
    ];
    const scrape = async () => {
      const ours = await metrics.registry.getSingleMetricAsString('authgate_http_requests_total');
      const theirs = await reference.getSingleMetricAsString('authgate_http_requests_total');
      const ourDuration = await metrics.registry.getSingleMetricAsString('authgate_http_request_duration_seconds');
      const theirDuration = await reference.getSingleMetricAsString('authgate_http_request_duration_seconds');
      const values = (text: string) => text.split('\n').filter((l) => !l.startsWith('#')).sort();
      assert.deepEqual(values(ours), values(theirs));
      assert.deepEqual(values(ourDuration), values(theirDuration));
    };
    for (const [upstream, status, seconds] of observations.slice(0, 3)) {
      metrics.recordRequest(upstream, status, seconds);
      requests.inc({ upstream, status: String(status) });
      duration.observe({ upstream }, seconds);
    }
    await scrape();
    // Counts go on adding up across scrapes.
    for (const [upstream, status, seconds] of observations.slice(3)) {
      metrics.recordRequest(upstream, status, seconds);
      requests.inc({ upstream, status: String(status) });
      duration.observe({ upstream }, seconds);
    }
    await scrape();
    const text = await metrics.registry.metrics();
    assert.match(text, /authgate_http_requests_total\{upstream="app",status="200"\} 3\n/);
    assert.match(text, /authgate_http_request_duration_seconds_count\{upstream="app"\} 5\n/);
  });

  it('count policy decisions by upstream and reason', async () => {
    const metrics = createMetrics();
    metrics.recordDecision('app', 'allowed');
    metrics.recordDecision('app', 'allowed');
    metrics.recordDecision('app', 'no_session');
    const text = await metrics.registry.getSingleMetricAsString('authgate_policy_decisions_total');
    assert.match(text, /authgate_policy_decisions_total\{upstream="app",reason="allowed"\} 2\n/);
    assert.match(text, /authgate_policy_decisions_total\{upstream="app",reason="no_session"\} 1/);
  });
});
