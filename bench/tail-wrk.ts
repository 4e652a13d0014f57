/**
 * wrk for the tail benchmark: full load (as fast as the system answers) or a fixed rate. wrk is C: on CPU 0,
 * which the upstream and Redis share with the load generator, it costs a fraction of autocannon's CPU per
 * request, and no JavaScript event loop of the loader's own adds to the latencies it measures. The fixed rate
 * is a Lua delay() that hands each request the next slot of one schedule (slots 1/rate apart, LuaJIT's ffi for
 * a monotonic clock); like autocannon's overallRate it waits for a free connection, so neither is open-loop.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = `
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } tail_timespec; int clock_gettime(int clk, tail_timespec *tp); ]]
local ts = ffi.new("tail_timespec")
local function nowms() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6 end
local rate = tonumber(os.getenv("TAIL_RATE") or "0")
local interval = rate > 0 and 1000 / rate or 0
local nextAt = 0
if interval > 0 then
  function delay()
    local t = nowms()
    if nextAt < t then nextAt = t end
    local d = nextAt - t
    nextAt = nextAt + interval
    return d
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('TAILJSON {"requests":%d,"us":%d,"non2xx":%d,"errors":%d,"p50":%f,"p90":%f,"p99":%f,"p999":%f,"max":%f}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
`;

/** What one wrk run measured (latencies in ms). */
export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Writes the Lua script once into `dir` and returns a runner. */
export function wrkRunner(dir: string, cpus: string | undefined) {
  const script = join(dir, 'tail.lua');
  writeFileSync(script, SCRIPT);
  /** Loads `url` for `seconds` with 32 connections (or `connections`), at `rate` req/s when given. */
  return function runWrk(o: { url: string; cookie: string | undefined; seconds: number; connections: number; rate?: number }): Promise<WrkResult> {
    const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '-s', script, ...(o.cookie ? ['-H', `Cookie: ${o.cookie}`] : []), o.url];
    const [file, argv] = cpus === undefined ? ['wrk', args] : ['taskset', ['-c', cpus, 'wrk', ...args]];
    return new Promise((resolve, reject) => {
      execFile(file, argv, { env: { ...process.env, TAIL_RATE: String(o.rate ?? 0) }, maxBuffer: 1 << 20 }, (err, stdout) => {
        if (err) return reject(new Error(`wrk failed: ${err.message}`));
        const line = stdout.split('\n').find((l) => l.startsWith('TAILJSON '));
        if (!line) return reject(new Error(`wrk printed no summary:\n${stdout}`));
        const r = JSON.parse(line.slice('TAILJSON '.length)) as Omit<WrkResult, 'rps'> & { us: number };
        resolve({ ...r, rps: (r.requests - r.non2xx) / (r.us / 1e6) });
      });
    });
  };
}
