/** The Markdown section `npm run bench:memory` prints: "Memory" for BENCHMARKS.md. */
import { f, int } from './format.js';
import type { HeapSummary, SizeLine } from './memory-heap.js';
import type { ProbeStats, ProcMemory } from './memory-measure.js';
import { median } from './memory-measure.js';
import { markdownTable } from './report.js';

/** A system's memory at one moment: /proc and the V8 heap. */
export interface MemoryPhase {
  proc: ProcMemory;
  stats: ProbeStats;
}

/** One measured load round. */
export interface LoadRound {
  requests: number;
  rps: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  rssMb: number;
}

/** Everything measured for one system. */
export interface SystemMemory {
  id: string;
  label: string;
  idle: MemoryPhase;
  loaded?: MemoryPhase;
  peakRssMb: number;
  rounds: LoadRound[];
  modules?: { commonJs: number; scripts: number; packages: Array<[string, number]> };
  heap?: HeapSummary;
}

/** What the section says about how it was measured. */
export interface MemoryRunInfo {
  node: string;
  flags: string;
  idleSeconds: number;
  rounds: number;
  warmup: number;
  seconds: number;
  connections: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => f(bytes / MB, 1);

function heapResidentMb(stats: ProbeStats): number {
  return stats.heap.total_physical_size / MB;
}

function spaceMb(stats: ProbeStats, names: string[]): string {
  const spaces = stats.spaces.filter((s) => names.includes(s.space_name));
  const committed = spaces.reduce((sum, s) => sum + s.physical_space_size, 0);
  const used = spaces.reduce((sum, s) => sum + s.space_used_size, 0);
  return `${mb(committed)} (${mb(used)})`;
}

const NEW = ['new_space', 'new_large_object_space'];
const OLD = ['old_space'];
const CODE = ['code_space', 'code_large_object_space'];
const LARGE = ['large_object_space'];
const OTHER_OF = (stats: ProbeStats) => stats.spaces.map((s) => s.space_name).filter((n) => ![...NEW, ...OLD, ...CODE, ...LARGE].includes(n));

function phaseRows(system: SystemMemory): Array<[string, MemoryPhase]> {
  return [['idle', system.idle] as [string, MemoryPhase], ...(system.loaded ? [['after load', system.loaded] as [string, MemoryPhase]] : [])];
}

function sizeTable(title: string, lines: SizeLine[], countHead: string): string {
  return markdownTable([title, 'MB', countHead], lines.map((l) => [`\`${l.name.replace(/\|/g, '\\|').slice(0, 70)}\``, f(l.bytes / MB, 2), int(l.count)]));
}

/** The Markdown "Memory" section. */
export function memorySection(systems: SystemMemory[], info: MemoryRunInfo): string {
  const out: string[] = [];
  out.push(`Measured by \`npm run bench:memory\` (bench/memory.ts) on Node.js ${info.node}; authgate started as the image starts it
(\`node ${info.flags} dist/cli.js\`). Idle: ${info.idleSeconds} s after start-up and one sign-in.
Load: \`wrk -t1 -c${info.connections}\` on CPU 0, the system alone on CPU 1, ${info.rounds} rounds of ${info.warmup} s warm-up + ${info.seconds} s,
the systems in turn; "after load" is read right after each system's last round. RSS = anonymous (the heap, malloc, stacks) +
file-backed (the node binary and shared libraries: about 45 MB, shared by every node process on the host).
V8 heap = the heap's resident pages (v8.getHeapStatistics total_physical_size); the rest of the anonymous memory is
malloc (Node's and V8's own C++ objects, buffers, the compilers' zones), thread stacks and the glibc arenas.`);
  out.push('');
  out.push(
    markdownTable(
      ['system', 'phase', 'RSS MB', 'anon MB', 'file MB', 'V8 heap MB', 'anon − heap MB', 'threads'],
      systems.flatMap((s) =>
        phaseRows(s).map(([phase, p]) => [s.id, phase, f(p.proc.rssMb, 1), f(p.proc.anonMb, 1), f(p.proc.fileMb, 1), f(heapResidentMb(p.stats), 1), f(p.proc.anonMb - heapResidentMb(p.stats), 1), String(p.proc.threads)]),
      ),
    ),
  );
  out.push('');
  const bare = systems.find((s) => s.id === 'bare');
  const bareCpu = bare ? median(bare.rounds.map((r) => r.cpuUsPerRequest)) : Number.NaN;
  out.push('Under load (medians of the rounds; peak RSS sampled every 200 ms):');
  out.push('');
  out.push(
    markdownTable(
      ['system', 'req/s', 'CPU µs/req', 'CPU vs bare', 'p99 ms', 'RSS at end MB', 'peak RSS MB'],
      systems.map((s) => {
        const cpu = median(s.rounds.map((r) => r.cpuUsPerRequest));
        return [s.id, int(median(s.rounds.map((r) => r.rps))), f(cpu, 0), bare ? `${f(cpu / bareCpu, 2)}x` : 'n/a', f(median(s.rounds.map((r) => r.p99Ms)), 1), f(median(s.rounds.map((r) => r.rssMb)), 1), f(s.peakRssMb, 1)];
      }),
    ),
  );
  out.push('');
  out.push('V8 heap by space, MB resident (used):');
  out.push('');
  out.push(
    markdownTable(
      ['system', 'phase', 'new (+ new large)', 'old', 'code', 'large object', 'other', 'external MB', 'array buffers MB'],
      systems.flatMap((s) =>
        phaseRows(s).map(([phase, p]) => [
          s.id,
          phase,
          spaceMb(p.stats, NEW),
          spaceMb(p.stats, OLD),
          spaceMb(p.stats, CODE),
          spaceMb(p.stats, LARGE),
          spaceMb(p.stats, OTHER_OF(p.stats)),
          mb(p.stats.memoryUsage.external),
          mb(p.stats.memoryUsage.arrayBuffers),
        ]),
      ),
    ),
  );
  out.push('');
  out.push('Modules: CommonJS modules in require.cache; scripts V8 compiled (CommonJS, ESM and Node.js builtins; from the inspector), after the load:');
  out.push('');
  out.push(
    markdownTable(
      ['system', 'CommonJS modules', 'scripts', 'scripts by package (top 8)'],
      systems.filter((s) => s.modules).map((s) => [s.id, String(s.modules?.commonJs), String(s.modules?.scripts), (s.modules?.packages ?? []).slice(0, 8).map(([p, n]) => `${p} ${n}`).join(', ')]),
    ),
  );
  for (const s of systems.filter((x) => x.heap)) {
    const heap = s.heap as HeapSummary;
    out.push('');
    out.push(`Heap snapshot of the idle ${s.id} (${mb(heap.totalBytes)} MB in ${int(heap.nodes)} objects):`);
    out.push('');
    out.push(sizeTable('by constructor (shallow size)', heap.byConstructor, 'objects'));
    out.push('');
    out.push(sizeTable('largest retainers (retained size)', heap.topRetainers, ''));
    out.push('');
    out.push(sizeTable('code by package (source, bytecode, functions)', heap.byPackage, 'scripts'));
  }
  return out.join('\n');
}
