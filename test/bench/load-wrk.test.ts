/**
 * The wrk loader: its WRK_RESULT line (captured from a real run) becomes the benchmark's LoadResult, a broken
 * output is refused rather than read as zeros, and (when wrk is installed) bench/wrk-report.lua really counts
 * redirects, which wrk's own error count misses.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { chooseLoader, loaderFor } from '../../bench/load.js';
import { parseWrkOutput, runWrk, wrkLoadResult, wrkVersion } from '../../bench/load-wrk.js';

/** `wrk -t1 -c32 -d1s --timeout 10s -s bench/wrk-report.lua` against authgate without a cookie (every answer a 401). */
const REJECTED = `Running 1s test @ http://127.0.0.1:31895/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    17.79ms   24.15ms 145.04ms   86.89%
    Req/Sec     3.29k     2.34k    6.58k    50.00%
  3298 requests in 1.01s, 0.87MB read
  Non-2xx or 3xx responses: 3298
Requests/sec:   3270.57
Transfer/sec:      0.86MB
WRK_RESULT requests=3298 duration_us=1008388 non2xx=3298 connect=0 read=0 write=0 timeout=0 status=3298 p50_us=7369 p99_us=105132 p999_us=135254 max_us=145044
`;

/** The same with the session cookie. */
const SIGNED_IN = `Running 1s test @ http://127.0.0.1:31895/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    22.75ms   28.70ms 143.13ms   85.58%
    Req/Sec     2.11k     1.22k    3.98k    75.00%
  1683 requests in 1.00s, 2.96MB read
Requests/sec:   1679.05
Transfer/sec:      2.96MB
WRK_RESULT requests=1683 duration_us=1002351 non2xx=0 connect=0 read=0 write=0 timeout=0 status=0 p50_us=8994 p99_us=128689 p999_us=142817 max_us=143127
`;

describe('wrk loader', () => {
  it('reads the WRK_RESULT line of a real run', () => {
    assert.deepEqual(parseWrkOutput(SIGNED_IN), {
      requests: 1683, durationUs: 1002351, non2xx: 0, connect: 0, read: 0, write: 0, timeout: 0, status: 0,
      p50Us: 8994, p99Us: 128689, p999Us: 142817, maxUs: 143127,
    });
  });

  it('turns it into req/s of 2xx answers and latencies in ms', () => {
    const result = wrkLoadResult(parseWrkOutput(SIGNED_IN), 120);
    assert.equal(result.ok, 1683);
    assert.ok(Math.abs(result.rps - 1683 / 1.002351) < 1e-9);
    assert.equal(result.p50, 8.994);
    assert.equal(result.p99, 128.689);
    assert.equal(result.seconds, 1.002351);
    assert.equal(result.loaderCpuMs, 120);
  });

  it('counts rejected answers as non-2xx, not as throughput, and errors apart', () => {
    const result = wrkLoadResult(parseWrkOutput(REJECTED));
    assert.equal(result.ok, 0);
    assert.equal(result.rps, 0);
    assert.equal(result.non2xx, 3298);
    const broken = wrkLoadResult(parseWrkOutput(REJECTED.replace('connect=0 read=0 write=0 timeout=0', 'connect=2 read=3 write=0 timeout=4')));
    assert.equal(broken.errors, 9);
  });

  it('gives no latency for a run that got no answer (wrk prints 0)', () => {
    const result = wrkLoadResult(parseWrkOutput(SIGNED_IN.replace(/requests=\d+ (.*) p50_us=\d+ p99_us=\d+/, 'requests=0 $1 p50_us=0 p99_us=0')));
    assert.equal(result.ok, 0);
    assert.ok(Number.isNaN(result.p50) && Number.isNaN(result.p99));
  });

  it('refuses output without a complete result line', () => {
    assert.throws(() => parseWrkOutput(SIGNED_IN.replace(/^WRK_RESULT.*$/m, '')), /no WRK_RESULT line/);
    assert.throws(() => parseWrkOutput(SIGNED_IN.replace(' p999_us=142817', '')), /lacks p999Us/);
    assert.throws(() => parseWrkOutput(SIGNED_IN.replace('p99_us=128689', 'p99_us=nan')), /lacks p99Us/);
  });

  it('keeps autocannon for a fixed rate or a fixed count, and when asked for', () => {
    assert.equal(loaderFor({ loader: 'wrk' }), 'wrk');
    assert.equal(loaderFor({ loader: 'wrk', rate: 500 }), 'autocannon');
    assert.equal(loaderFor({ loader: 'wrk', amount: 1000 }), 'autocannon');
    assert.equal(loaderFor({ loader: 'wrk', onResponse: () => undefined }), 'autocannon');
    assert.equal(chooseLoader('autocannon'), 'autocannon');
    const notes: string[] = [];
    assert.equal(chooseLoader(undefined, (line) => notes.push(line)), wrkVersion() === null ? 'autocannon' : 'wrk');
    assert.equal(notes.length, wrkVersion() === null ? 1 : 0);
  });

  it('counts redirects and sends the cookie through the Lua script', { skip: wrkVersion() === null && 'wrk is not installed' }, async () => {
    let answered = 0;
    let withCookie = 0;
    // Every third answer a redirect, as authgate answers a request whose session it does not accept.
    const server = createServer((req, res) => {
      answered += 1;
      if (req.headers.cookie === 'session=abc') withCookie += 1;
      res.writeHead(answered % 3 === 0 ? 302 : 200, answered % 3 === 0 ? { location: '/login' } : {}).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runWrk({ url: `http://127.0.0.1:${port}/`, cookie: 'session=abc', connections: 2, seconds: 1 });
      assert.ok(result.ok > 0 && result.non2xx > 0, `ok ${result.ok}, non-2xx ${result.non2xx}`);
      assert.ok(Math.abs(result.non2xx - result.ok / 2) <= 2 + result.ok * 0.01, `ok ${result.ok}, non-2xx ${result.non2xx}`);
      assert.ok(result.ok + result.non2xx <= answered);
      assert.equal(withCookie, answered);
      assert.equal(result.errors, 0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
