/**
 * Preloaded into a gateway process (`node --import <this compiled>`) by `bench/tail.ts`: records, without
 * touching the gateway's code, what makes a request slow. Per request the times of its stages from
 * diagnostics_channel (node's http server, fastify's handler tracing channel, undici); every GC pause; the
 * event-loop delay histogram and utilisation; and the loop's stalls (gaps > 1 ms between the ticks of a 1 ms
 * timer). On SIGUSR2 it writes what it gathered since the last SIGUSR2 to TAIL_PROBE_DIR/<pid>-<n>.json and
 * starts afresh (the first dump ends the warm-up). Self-contained: compiled alone by bench/compile.ts.
 */
import { subscribe, tracingChannel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

/** A growable list of numbers in one typed array (no boxing, no GC work for the probe's own records). */
class Column {
  data = new Float64Array(1 << 16);
  grow(length: number): void {
    if (length < this.data.length) return;
    const bigger = new Float64Array(this.data.length * 2);
    bigger.set(this.data);
    this.data = bigger;
  }
  slice(length: number): number[] {
    return Array.from(this.data.subarray(0, length), (n) => Math.round(n * 1000) / 1000);
  }
}

const STAGES = ['start', 'handler', 'upstreamCreate', 'upstreamSent', 'upstreamHeaders', 'upstreamDone', 'finish'] as const;
const columns = STAGES.map(() => new Column());
const [cStart, cHandler, cCreate, cSent, cHeaders, cDone, cFinish] = columns as [Column, Column, Column, Column, Column, Column, Column];
let count = 0;
/** Slot ids keep growing across windows (id = base + index), so a request from an earlier window never marks a new one. */
let base = 0;
let unmatchedUpstream = 0;
const SLOT = Symbol('tailProbeSlot');
type Slotted = { [SLOT]?: number };

const now = () => performance.now();
const indexOf = (id: number | undefined) => (id === undefined || id < base || id - base >= count ? -1 : id - base);
const mark = (column: Column, id: number | undefined) => {
  const index = indexOf(id);
  if (index >= 0) column.data[index] = now();
};

subscribe('http.server.request.start', (message) => {
  const request = (message as { request: Slotted }).request;
  for (const column of columns) column.grow(count + 1);
  const slot = count++;
  cStart.data[slot] = now();
  cHandler.data[slot] = 0;
  cCreate.data[slot] = 0;
  cSent.data[slot] = 0;
  cHeaders.data[slot] = 0;
  cDone.data[slot] = 0;
  cFinish.data[slot] = 0;
  request[SLOT] = base + slot;
});
subscribe('http.server.response.finish', (message) => {
  mark(cFinish, (message as { request: Slotted }).request[SLOT]);
});

// The route handler calls reply.from(), which creates the undici request synchronously: the request whose
// handler is running is the one an undici:request:create belongs to.
let current: number | undefined;
tracingChannel('fastify.request.handler').subscribe({
  start(message) {
    current = ((message as { request: { raw: Slotted } }).request.raw)[SLOT];
    mark(cHandler, current);
  },
  end() {
    current = undefined;
  },
  asyncStart() {},
  asyncEnd() {},
  error() {},
});
subscribe('undici:request:create', (message) => {
  const request = (message as { request: Slotted }).request;
  if (current === undefined) {
    unmatchedUpstream++;
    return;
  }
  request[SLOT] = current;
  mark(cCreate, current);
});
subscribe('undici:client:sendHeaders', (message) => mark(cSent, (message as { request: Slotted }).request[SLOT]));
subscribe('undici:request:headers', (message) => mark(cHeaders, (message as { request: Slotted }).request[SLOT]));
subscribe('undici:request:trailers', (message) => mark(cDone, (message as { request: Slotted }).request[SLOT]));

// GC pauses, as V8 reports them to perf_hooks (kind: 1 minor, 2 major, 4 incremental, 8 weak callbacks).
const gcStart = new Column();
const gcDuration = new Column();
const gcKind = new Column();
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcStart.grow(gcCount + 1);
    gcDuration.grow(gcCount + 1);
    gcKind.grow(gcCount + 1);
    gcStart.data[gcCount] = entry.startTime;
    gcDuration.data[gcCount] = entry.duration;
    gcKind.data[gcCount] = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
    gcCount++;
  }
}).observe({ entryTypes: ['gc'] });

// Stalls: a 1 ms timer that ticks late by more than STALL_MS marks [last tick, this tick] as a stall.
const STALL_MS = Number(process.env.TAIL_PROBE_STALL_MS ?? 1);
const stallFrom = new Column();
const stallTo = new Column();
let stallCount = 0;
let lastTick = now();
setInterval(() => {
  const t = now();
  if (t - lastTick > 1 + STALL_MS) {
    stallFrom.grow(stallCount + 1);
    stallTo.grow(stallCount + 1);
    stallFrom.data[stallCount] = lastTick;
    stallTo.data[stallCount] = t;
    stallCount++;
  }
  lastTick = t;
}, 1).unref();

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
let elu = performance.eventLoopUtilization();
let windowStart = now();
let cpu = process.cpuUsage();
let dumps = 0;

/** Writes the window's data and starts the next window. */
function dump(): void {
  const end = now();
  const ms = (ns: number) => ns / 1e6;
  const data = {
    pid: process.pid,
    window: { from: windowStart, to: end },
    cpuMs: (() => {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000;
    })(),
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    eventLoopDelayMs: {
      p50: ms(delay.percentile(50)),
      p90: ms(delay.percentile(90)),
      p99: ms(delay.percentile(99)),
      p999: ms(delay.percentile(99.9)),
      max: ms(delay.max),
      mean: ms(delay.mean),
    },
    unmatchedUpstream,
    requests: Object.fromEntries(STAGES.map((name, i) => [name, columns[i]?.slice(count) ?? []])),
    gc: { start: gcStart.slice(gcCount), duration: gcDuration.slice(gcCount), kind: gcKind.slice(gcCount) },
    stalls: { from: stallFrom.slice(stallCount), to: stallTo.slice(stallCount) },
    heap: process.memoryUsage(),
  };
  const dir = process.env.TAIL_PROBE_DIR ?? '.';
  writeFileSync(join(dir, `${process.pid}-${dumps++}.json`), JSON.stringify(data));
  base += count;
  count = 0;
  gcCount = 0;
  stallCount = 0;
  unmatchedUpstream = 0;
  delay.reset();
  elu = performance.eventLoopUtilization();
  cpu = process.cpuUsage();
  windowStart = now();
}

process.on('SIGUSR2', dump);
