/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and sums self time per function and per module, so
 * the per-request path's hot spots can be read in a terminal instead of DevTools.
 */

/** The parts of the .cpuprofile format used here. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time of one function (or one module). */
export interface SelfTime {
  name: string;
  location: string;
  selfMs: number;
  /** Share of the busy time: everything but (idle). */
  share: number;
}

/** A profile's self times, largest first. */
export interface SelfTimeSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

const IDLE = '(idle)';

/** "file:///repo/node_modules/fastify/lib/route.js" → "fastify/lib/route.js"; "file:///repo/dist/app.js" → "dist/app.js". */
export function shortUrl(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return path.slice(inModules + '/node_modules/'.length);
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** The module a location belongs to: an npm package, a file of ours, or a group of Node internals. */
function moduleOf(url: string, short: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.includes('/node_modules/')) {
    const [first = '', second = ''] = short.split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return short;
}

/** A span of the profile's clock (µs, CLOCK_MONOTONIC: the clock of `process.hrtime.bigint() / 1000n`). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Self time per function ("name location") and per module, in µs, and the idle and total time. */
export interface SelfTimes {
  functions: Map<string, { name: string; location: string; us: number }>;
  modules: Map<string, number>;
  idleUs: number;
  totalUs: number;
}

/** Self time of every sampled node id, counting only samples inside `window` when one is given. */
function selfTimePerNode(profile: CpuProfile, window: ProfileWindow | undefined): Map<number, number> {
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // timeDeltas[i] is the time before sample i, so sample i lasted until the next one.
    const average = (profile.endTime - profile.startTime) / samples.length;
    let at = profile.startTime;
    samples.forEach((id, i) => {
      at += deltas[i] ?? 0;
      if (window && (at < window.fromUs || at > window.toUs)) return;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? average));
    });
  } else {
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) * (profile.endTime - profile.startTime)) / hits);
  }
  return selfUs;
}

/** Sums self time per function (name + location) and per module, optionally inside a window only. */
export function selfTimes(profile: CpuProfile, root: string, window?: ProfileWindow): SelfTimes {
  const selfUs = selfTimePerNode(profile, window);
  const functions = new Map<string, { name: string; location: string; us: number }>();
  const modules = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === IDLE) {
      idleUs += us;
      continue;
    }
    const short = shortUrl(url, root);
    const name = functionName || '(anonymous)';
    const location = url ? `${short}:${lineNumber + 1}` : '';
    const key = `${name} ${location}`;
    const entry = functions.get(key) ?? { name, location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const module = moduleOf(url, short, functionName);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  return { functions, modules, idleUs, totalUs };
}

/** Sums self time per function (name + location) and per module; the `top` largest of each. */
export function summarise(profile: CpuProfile, root: string, top = 15): SelfTimeSummary {
  const { functions, modules, idleUs, totalUs } = selfTimes(profile, root);
  const busyUs = totalUs - idleUs || 1;
  const toSelfTime = (name: string, location: string, us: number): SelfTime => ({ name, location, selfMs: us / 1000, share: us / busyUs });
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => toSelfTime(e.name, e.location, e.us)),
    modules: [...modules.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => toSelfTime(name, '', us)),
  };
}

/** One process's self time per unit of work (a login), µs, largest first. */
export function formatPerUnit(times: SelfTimes, units: number, unit: string, top: number): string {
  const per = (us: number) => (us / Math.max(1, units)).toFixed(0).padStart(8);
  const fns = [...times.functions.values()].sort((a, b) => b.us - a.us).slice(0, top);
  const mods = [...times.modules.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `CPU per ${unit}: ${per(times.totalUs - times.idleUs).trim()} µs busy (over ${units} ${unit}s inside the window)`,
    '',
    `top ${top} functions by self time per ${unit}, µs:`,
    ...fns.map((e) => `${per(e.us)}  ${e.name}${e.location ? `  ${e.location}` : ''}`),
    '',
    `top ${top} modules by self time per ${unit}, µs:`,
    ...mods.map(([name, us]) => `${per(us)}  ${name}`),
  ].join('\n');
}

/**
 * Two loaded processes' self times per request, side by side: what the gateway spends beyond the bare
 * proxy, function by function (GC and Node internals included), largest difference first.
 */
export function formatPerRequest(gateway: { times: SelfTimes; requests: number }, bare: { times: SelfTimes; requests: number }, top: number): string {
  const perRequest = (us: number, requests: number) => us / Math.max(1, requests);
  const busy = (t: SelfTimes) => t.totalUs - t.idleUs;
  const row = (label: string, ours: number, theirs: number) =>
    `${ours.toFixed(2).padStart(8)} ${theirs.toFixed(2).padStart(8)} ${(ours - theirs >= 0 ? '+' : '') + (ours - theirs).toFixed(2).padStart(7)}  ${label}`;
  const table = <T>(entries: Map<string, T>, other: Map<string, T>, us: (e: T | undefined) => number, label: (key: string, e: T) => string) =>
    [...entries.entries()]
      .map(([key, e]) => ({ key, e, ours: perRequest(us(e), gateway.requests), theirs: perRequest(us(other.get(key)), bare.requests) }))
      .sort((a, b) => b.ours - b.theirs - (a.ours - a.theirs))
      .slice(0, top)
      .map(({ key, e, ours, theirs }) => row(label(key, e), ours, theirs));
  const fnUs = (e: { us: number } | undefined) => e?.us ?? 0;
  return [
    `CPU per request, µs (busy time over the load window / 2xx responses): gateway ${perRequest(busy(gateway.times), gateway.requests).toFixed(1)}, bare proxy ${perRequest(busy(bare.times), bare.requests).toFixed(1)}`,
    '',
    `top ${top} functions by self time added per request:`,
    '     ours     bare   added',
    ...table(gateway.times.functions, bare.times.functions, fnUs, (_k, e) => `${e.name}${e.location ? `  ${e.location}` : ''}`),
    '',
    `top ${top} modules by self time added per request:`,
    '     ours     bare   added',
    ...table(gateway.times.modules, bare.times.modules, (e) => e ?? 0, (key) => key),
  ].join('\n');
}

/** The summary as text tables. */
export function formatSummary(summary: SelfTimeSummary): string {
  const row = (e: SelfTime) => `${e.selfMs.toFixed(0).padStart(8)} ms ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.name}${e.location ? `  ${e.location}` : ''}`;
  return [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (${((summary.busyMs / (summary.totalMs || 1)) * 100).toFixed(0)}%), ${summary.idleMs.toFixed(0)} ms idle; shares below are of the busy time`,
    '',
    `top ${summary.functions.length} functions by self time:`,
    ...summary.functions.map(row),
    '',
    `top ${summary.modules.length} modules by self time:`,
    ...summary.modules.map(row),
  ].join('\n');
}
