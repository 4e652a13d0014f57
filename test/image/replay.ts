/**
 * Processes and files for the image-steps replay: commands run with a time limit and their output kept,
 * npm's environment, and snapshots and permissions of a directory tree.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

/** How long one replayed command may take before it is killed and the test fails. */
export const COMMAND_LIMIT_MS = 150_000;

/** How a command ended and what it printed. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}
/** A started child process with its output collected. */
export interface Running {
  child: ReturnType<typeof spawn>;
  stdout: () => string;
  stderr: () => string;
  finished: Promise<Finished>;
}

/** Starts a command with a time limit, keeping its output. */
export function start(command: string, args: string[], options: SpawnOptions, limitMs = COMMAND_LIMIT_MS): Running {
  const began = performance.now();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - began) });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, finished };
}

/** Runs a command to its end (see start). */
export async function run(command: string, args: string[], options: SpawnOptions, limitMs?: number): Promise<Finished> {
  return start(command, args, options, limitMs).finished;
}

/** A command's outcome and output, for an assertion message. */
export function describeRun(what: string, result: Finished): string {
  return `${what}: exit ${result.code} signal ${result.signal}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`;
}

/** The environment for npm: the caller's, without what an enclosing `npm test` or the shell would change about the install. */
export function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|fetch_\w+)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.test(key)) continue;
    if (key === 'NODE_ENV' || key === 'NODE_OPTIONS' || key === 'NODE_PATH') continue;
    env[key] = value;
  }
  return env;
}

/** Every file and directory under `dir` (symlinks not followed) with what would change if something wrote there. */
export function snapshot(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    entries.set(path, `${stat.mode} ${stat.size} ${stat.mtimeMs} ${stat.ctimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return entries;
}

/** Adds or removes write permission on everything under `dir` (symlinks left alone: chmod would follow them). */
export function setWritable(dir: string, writable: boolean): void {
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    chmodSync(path, writable ? stat.mode | 0o200 : stat.mode & ~0o222);
  };
  walk(dir);
}

/** Every file under `dir`, as paths relative to `base`. */
export function filesUnder(base: string, dir: string): string[] {
  const path = join(base, dir);
  if (!statSync(path).isDirectory()) return [dir];
  return readdirSync(path).flatMap((name) => filesUnder(base, posix.join(dir, name)));
}
