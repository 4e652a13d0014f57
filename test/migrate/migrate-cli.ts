/**
 * Runs `authgate migrate oauth2-proxy` and `authgate --check` as the real command (a child process), and
 * reads the fixtures' environment files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/gateway.js';

/** What a finished command printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The least an oauth2-proxy configuration needs for the in-process conversion tests: an OIDC provider, one upstream, a rule. */
export const BASE_FLAGS: readonly string[] = [
  '--provider=oidc',
  '--oidc-issuer-url=https://idp.example.com',
  '--client-id=app',
  '--client-secret=s3cret',
  '--redirect-url=https://app.example.com/oauth2/callback',
  '--upstream=http://app:8080/',
  '--email-domain=example.com',
];

/** The fixtures' directory, relative to the repository root (where the command runs). */
export const FIXTURES = 'test/migrate/fixtures';

/** Runs the CLI to completion with `env` added to this process's environment. */
export function runToEnd(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...withoutProxyVariables(process.env), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  // 'close', not 'exit': the output streams are read to their end.
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** `authgate migrate oauth2-proxy ARGS`. */
export function migrate(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runToEnd(['migrate', 'oauth2-proxy', ...args], env);
}

/** Writes YAML to a new temporary file and runs `authgate --config FILE --check` on it. */
export function check(yaml: string, env: Record<string, string>): Promise<CliRun> {
  const file = join(mkdtempSync(join(tmpdir(), 'authgate-migrated-')), 'config.yaml');
  writeFileSync(file, yaml);
  return runToEnd(['--config', file, '--check'], env);
}

/** KEY=VALUE lines of a fixture's .env file (# comments and blank lines skipped). */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (line.startsWith('#') || at === -1) continue;
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

/** One flag a line of a fixture's .flags file. */
export function readFlagsFile(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8').split('\n').filter((line) => line.trim() !== '');
}

/** The stderr lines of a run. */
export function stderrLines(run: CliRun): string[] {
  return run.stderr.split('\n').filter((line) => line !== '');
}

/** The environment without OAUTH2_PROXY_* and AUTHGATE_* variables, so the machine's own never leak into a test. */
function withoutProxyVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('OAUTH2_PROXY_') && !name.startsWith('AUTHGATE_')));
}
