/**
 * The worker-scaling pass: authgate (cookie store) with server.workers 1 and then auto, each on a fresh stack
 * with nothing pinned, loaded like the full-load pass, to show what node:cluster buys on this machine.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { childPids, unpinSelf } from './proc.js';
import { measurePass, type Measurement } from './rounds.js';
import type { BenchSettings } from './settings.js';
import { startStack } from './stack.js';

/** One server.workers setting and how it did. */
export interface ScalingRow {
  workers: 1 | 'auto';
  /** Gateway processes that served the load: the cluster's workers, or the gateway alone without a cluster. */
  processes: number;
  /** CPU % and RSS cover the primary and its workers (proc.ts sums a process tree). */
  measurement: Measurement;
}

/** The pass's outcome. */
export interface ScalingResult {
  /** os.availableParallelism() once unpinned: what `auto` starts, on cores the helpers and the loader use too. */
  cores: number;
  rows: ScalingRow[];
}

/** Measures authgate-cookie with one worker and with `auto`, with the rounds, seconds and connections of the run. */
export async function measureScaling(settings: BenchSettings, workDir: string, log: (line: string) => void): Promise<ScalingResult> {
  // The main pass pinned this process to CPU 0 and children inherit that: `auto` would see one core and fork
  // one worker onto it.
  unpinSelf();
  const cores = availableParallelism();
  const rows: ScalingRow[] = [];
  for (const workers of [1, 'auto'] as const) {
    // A directory each, so kept logs (BENCH_KEEP_LOGS) stay apart from each other and from the main pass's.
    const dir = join(workDir, `scaling-${workers}`);
    mkdirSync(dir);
    log(`\nworker scaling: authgate-cookie with server.workers ${workers}${workers === 'auto' ? ` (${cores} cores)` : ''}, nothing pinned`);
    const stack = await startStack({ systems: ['authgate-cookie'], workDir: dir, pin: false, logLevel: settings.logLevel, keepLogs: settings.keepLogs, authgateWorkers: workers, log });
    try {
      const pass = { rounds: settings.rounds, seconds: settings.seconds, warmup: settings.warmup, connections: settings.connections, upstreamPid: stack.upstream.pid, log };
      const [measurement] = await measurePass(stack.systems, pass);
      const gateway = stack.systems[0];
      if (!gateway || !measurement) throw new Error('worker scaling: authgate-cookie did not start');
      // Counted after the load, when every worker is surely up; without a cluster the gateway has no children.
      rows.push({ workers, processes: Math.max(1, childPids(gateway.proc.pid).length), measurement });
    } finally {
      await stack.close();
    }
  }
  return { cores, rows };
}
