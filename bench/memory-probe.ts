/**
 * A preload for `npm run bench:memory` (`node --import <this, compiled> dist/cli.js`): on SIGUSR2 it reads the
 * command in `$BENCH_MEMORY_PROBE-<pid>.cmd` and writes its answer to `…-<pid>.out`, then renames that to `.json`
 * (so the reader never sees half a file). Nothing of it runs until asked, so the gateway's memory is
 * its own: the module costs one signal handler and a few closures.
 * Commands: `stats` (process.memoryUsage, V8 heap statistics by space, CommonJS modules loaded), `snapshot
 * <file>` (a heap snapshot), `modules` (every script V8 has compiled, through the inspector: CommonJS and ESM),
 * `promoted-start` and `promoted-stop <file>` (V8's sampling heap profiler keeping only what survived the young
 * generation and died in the old: the allocation sites of promoted garbage, written as a .heapprofile).
 * Self-contained (compiled alone by bench/compile.ts).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

const base = process.env.BENCH_MEMORY_PROBE ? `${process.env.BENCH_MEMORY_PROBE}-${process.pid}` : undefined;
const requireHere = createRequire(import.meta.url);

/** What `stats` answers. */
function stats(): unknown {
  return {
    memoryUsage: process.memoryUsage(),
    heap: getHeapStatistics(),
    spaces: getHeapSpaceStatistics(),
    commonJsModules: Object.keys(requireHere.cache).length,
  };
}

/** The URLs of every script V8 has parsed so far (builtins have none or a node: URL). */
function scripts(): string[] {
  const session = new Session();
  session.connect();
  const urls: string[] = [];
  session.on('Debugger.scriptParsed', (message) => {
    const url = (message.params as { url?: string }).url;
    if (url) urls.push(url);
  });
  // An in-process session dispatches synchronously: every already parsed script is reported inside enable.
  session.post('Debugger.enable', () => undefined);
  session.post('Debugger.disable', () => undefined);
  session.disconnect();
  return urls;
}

let sampling: Session | undefined;

/** Starts sampling allocations that survive scavenges (collected by a mark-compact later). */
function promotedStart(): unknown {
  sampling = new Session();
  sampling.connect();
  sampling.post('HeapProfiler.enable');
  const params = { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false };
  sampling.post('HeapProfiler.startSampling', params as object);
  return { started: true };
}

/** Stops sampling and writes the profile. */
function promotedStop(file: string | undefined): unknown {
  const session = sampling;
  if (!session || !file) return { error: 'promoted-start first, and name a file' };
  sampling = undefined;
  let profile: unknown;
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) profile = result.profile;
  });
  session.disconnect();
  writeFileSync(file, JSON.stringify(profile));
  return { file };
}

function answer(): void {
  if (!base) return;
  let result: unknown;
  try {
    const [command, argument] = readFileSync(`${base}.cmd`, 'utf8').trim().split(/\s+/);
    if (command === 'stats') result = stats();
    else if (command === 'snapshot') result = { file: writeHeapSnapshot(argument) };
    else if (command === 'promoted-start') result = promotedStart();
    else if (command === 'promoted-stop') result = promotedStop(argument);
    else if (command === 'modules') result = { scripts: scripts(), commonJsModules: Object.keys(requireHere.cache).length };
    else result = { error: `unknown command ${command}` };
  } catch (err) {
    result = { error: String(err) }; // never take the gateway down
  }
  writeFileSync(`${base}.out`, JSON.stringify(result));
  renameSync(`${base}.out`, `${base}.json`);
}

if (base) process.on('SIGUSR2', answer);
