/**
 * Compiles a self-contained bench/systems entry (no relative imports) to plain JavaScript, so the systems being
 * compared run on bare `node` like the built gateway does: tsx's loader alone adds about 20 MB of RSS.
 * The output goes to node_modules/.cache/authgate-bench/, where bare imports still resolve to the project's
 * node_modules and nothing lands in the source tree.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './proc.js';

const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'authgate-bench');

/** Transpiles `entry` (relative to the repository root) and returns the path of the .mjs file. */
export function compileEntry(entry: string): string {
  const source = readFileSync(join(ROOT, entry), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: entry,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  if (/^\s*import\s[^;]*from\s+['"]\.{1,2}\//m.test(outputText)) throw new Error(`${entry} has relative imports: it cannot be compiled alone`);
  mkdirSync(CACHE_DIR, { recursive: true });
  const out = join(CACHE_DIR, basename(entry).replace(/\.ts$/, '.mjs'));
  writeFileSync(out, outputText);
  return out;
}
