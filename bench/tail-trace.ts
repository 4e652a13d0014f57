/**
 * The GC trace of the tail benchmark: `node --trace-gc-nvp` (one line of name=value pairs per collection) read
 * back into totals by kind (scavenge, mark-sweep / mark-compact), pause percentiles, incremental marking
 * steps, and bytes promoted to the old generation.
 */
import { readFileSync, statSync } from 'node:fs';
import { quantileOf } from './tail-analyse.js';

/** Totals of one trace window. */
export interface GcTrace {
  seconds: number;
  scavenges: number;
  marks: number;
  scavengePause: { sum: number; p50: number; p99: number; max: number };
  markPause: { sum: number; max: number };
  incrementalSteps: number;
  incrementalMs: number;
  promotedMbPerS: number;
  promotedKbPerScavenge: number;
}

/** Where a log file ends now: read the trace from here on. */
export const fileEnd = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Parses the --trace-gc-nvp lines of `file` from byte `from` on, over a window of `seconds`. */
export function readGcTrace(file: string, from: number, seconds: number): GcTrace {
  const text = readFileSync(file).subarray(from).toString('utf8');
  const scavenge: number[] = [];
  const mark: number[] = [];
  let steps = 0, stepsMs = 0, promoted = 0;
  for (const line of text.split('\n')) {
    const at = line.indexOf(' pause=');
    if (at < 0) continue;
    const fields = new Map<string, string>();
    for (const pair of line.slice(at + 1).split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const num = (name: string) => Number.parseFloat(fields.get(name) ?? '0') || 0;
    const pause = num('pause');
    const kind = fields.get('gc');
    if (kind === 's') {
      scavenge.push(pause);
      promoted += num('promoted');
    } else {
      mark.push(pause);
    }
    steps += num('incremental.steps_count');
    stepsMs += num('incremental.steps_took');
  }
  const sorted = [...scavenge].sort((a, b) => a - b);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const mb = 1024 * 1024;
  return {
    seconds,
    scavenges: scavenge.length,
    marks: mark.length,
    scavengePause: { sum: sum(scavenge), p50: quantileOf(sorted, 0.5), p99: quantileOf(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
    markPause: { sum: sum(mark), max: Math.max(0, ...mark) },
    incrementalSteps: steps,
    incrementalMs: stepsMs,
    promotedMbPerS: promoted / mb / seconds,
    promotedKbPerScavenge: scavenge.length ? promoted / 1024 / scavenge.length : 0,
  };
}
