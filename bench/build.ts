/** Compiles src/ into dist/ (what `npm run build` does), so the numbers are for the code as it is now. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './proc.js';

/** Runs tsc -p tsconfig.build.json; throws with the compiler's output when it fails. */
export function buildGateway(log: (line: string) => void = (line) => console.log(line)): void {
  log('building the gateway (tsc -p tsconfig.build.json)...');
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) {
    throw new Error(`the build failed (BENCH_BUILD=0 benchmarks the existing dist/ instead):\n${tsc.stdout}${tsc.stderr}`);
  }
}
