/**
 * The gateway as the real command (`node --import tsx src/cli.ts`) for CLI tests: a child process with its
 * output captured, a configuration file written for it, and a provider and upstream to run against.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { baseConfig, ROOT, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type AnyConfigTree, type ConfigTree } from './gateway-config.js';
import { startIdp, type StartedIdp } from './idp.js';
import { freePort } from './ports.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

/** A gateway started as the real command (`node --import tsx src/cli.ts`), with its output captured. */
export interface GatewayProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Runs the CLI with the given arguments and environment. */
export function runCli(args: string[], env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `predicate` holds, checking after each chunk of the child's stdout; rejects when it exits first. */
export function waitForOutput(proc: GatewayProcess, predicate: (stdout: string) => boolean, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate(proc.stdout())) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`gateway exited (${code}) before the expected output; stderr: ${proc.stderr()} stdout: ${proc.stdout()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for gateway output; stdout so far: ${proc.stdout()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', check);
      proc.child.off('exit', onExit);
    };
    proc.child.stdout?.on('data', check);
    proc.child.once('exit', onExit);
    check();
  });
}

/** Writes a configuration tree as a YAML file in a new temporary directory; returns its path. */
export function writeConfigFile(tree: AnyConfigTree): string {
  const file = join(mkdtempSync(join(tmpdir(), 'authgate-config-')), 'config.yaml');
  writeFileSync(file, stringify(tree));
  return file;
}

/** A provider, an upstream and the real command running against them (a child process). */
export interface CliStack {
  idp: StartedIdp;
  upstream: StartedUpstream;
  proc: GatewayProcess;
  publicUrl: string;
  file: string;
  /** The configuration tree the file was written from (rewrite it with writeTo). */
  tree: ConfigTree;
  /** Rewrites the configuration file in place. */
  writeTo(tree: ConfigTree): void;
  /** Parsed stdout lines so far. */
  logEntries(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts provider and upstream, then `authgate --config FILE` as a child process; waits until it is ready. */
export async function startCliStack(options: { configure?: (tree: ConfigTree) => void } = {}): Promise<CliStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const upstream = await startUpstream();
  const idp = await startIdp({
    clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] }],
  });
  const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
  options.configure?.(tree);
  const file = writeConfigFile(tree);
  const proc = runCli(['--config', file]);
  await waitForOutput(proc, (out) => out.includes('provider metadata loaded') && out.includes('Server listening'));
  const entries = () =>
    proc
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    idp,
    upstream,
    proc,
    publicUrl,
    file,
    tree,
    writeTo: (next) => writeFileSync(file, stringify(next)),
    logEntries: entries,
    close: async () => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGKILL');
        await proc.exited;
      }
      await Promise.all([idp.close(), upstream.close()]);
    },
  };
}
