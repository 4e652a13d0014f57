/**
 * Starts real gateways for tests: in-process (buildApp + listen on a free port, logs captured) and, for
 * CLI behaviour, as a child process. `startStack` brings up the whole chain: identity provider, recording
 * upstream and gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { configSchema } from '../../src/config/schema.js';
import { buildApp, type Gateway } from '../../src/app.js';
import { parseConfigText } from '../../src/config/load.js';
import { BrowserClient } from './browser-client.js';
import { startIdp, type IdpOptions, type StartedIdp } from './idp.js';
import { freePort } from './ports.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

/** A valid 32-byte session key for tests (base64). */
export const TEST_SESSION_KEY = Buffer.alloc(32, 0x5a).toString('base64');
/** A second key, for rotation tests. */
export const OTHER_SESSION_KEY = Buffer.alloc(32, 0x3c).toString('base64');
/** The test client's secret; tests assert it never appears in logs. */
export const TEST_CLIENT_SECRET = 'test-client-secret-do-not-log-4f9a';
/** The test client id. */
export const TEST_CLIENT_ID = 'authgate-test';

export { freePort };

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A configuration file's content, typed as the schema's input (what a YAML file may say). */
export type ConfigTree = z.input<typeof configSchema>;

/** A configuration tree for one upstream at `/`, open to any signed-in user. */
export function baseConfig(options: { publicUrl: string; issuer: string; upstreamUrl: string; listenPort: number }): ConfigTree {
  return {
    server: { listen: `127.0.0.1:${options.listenPort}`, publicUrl: options.publicUrl, shutdownDelay: '100ms' },
    oidc: {
      issuer: options.issuer,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      allowInsecureHttp: true,
      scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    },
    session: { keys: [TEST_SESSION_KEY] },
    upstreams: [{ name: 'app', path: '/', url: options.upstreamUrl }],
  };
}

/** An in-process gateway listening on 127.0.0.1. */
export interface StartedGateway {
  url: string;
  port: number;
  gateway: Gateway;
  /** Every log line written so far. */
  logs: string[];
  /** Log lines parsed as JSON. */
  logEntries(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Builds and starts a gateway from a configuration tree (validated exactly as a YAML file would be). */
export async function startGateway(
  tree: ConfigTree,
  options: { port: number; waitForProvider?: boolean; keysRefreshMs?: number; now?: () => number },
): Promise<StartedGateway> {
  const config = parseConfigText(stringify(tree), 'test config', {});
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const gateway = await buildApp(config, { logStream, discoveryRetry: { initialMs: 100, maxMs: 400 }, refreshRetryMs: 200, keysRefreshMs: options.keysRefreshMs, now: options.now });
  try {
    await gateway.app.listen({ host: '127.0.0.1', port: options.port });
  } catch (err) {
    await gateway.app.close(); // its store connections would otherwise keep the test process alive
    throw err;
  }
  if (options.waitForProvider !== false) await gateway.services.provider.whenReady;
  return {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    gateway,
    logs,
    logEntries: () => logs.map((line) => JSON.parse(line) as Record<string, unknown>),
    close: () => gateway.app.close(),
  };
}

/** Identity provider, recording upstream and gateway, wired together. */
export interface Stack {
  idp: StartedIdp;
  upstream: StartedUpstream;
  gateway: StartedGateway;
  publicUrl: string;
  /** A fresh browser (its own cookie jar). */
  browser(): BrowserClient;
  /** Signs a new browser in as `login` through the gateway, starting at `path`. */
  signIn(login: string, path?: string): Promise<BrowserClient>;
  close(): Promise<void>;
}

/** Options for startStack. */
export interface StackOptions {
  /** Changes the gateway's configuration tree before it is validated. */
  configure?: (tree: ConfigTree) => void;
  idp?: Partial<IdpOptions>;
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Registers the gateway's /oauth2/backchannel_logout at the provider (it then sends logout tokens there). */
  backchannelLogout?: boolean;
  /** How often the gateway fetches the provider's JWKS between metadata refreshes (ms; default 10 minutes). */
  keysRefreshMs?: number;
  /** The clock the gateway judges session lifetimes and the refresh back-off by (default Date.now). */
  now?: () => number;
}

/** Starts a provider, an upstream and a gateway in front of it. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const upstream = await startUpstream();
  const idp = await startIdp({
    clients: [
      {
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        // The https form is for tests whose publicUrl is https (TLS terminated in front of the gateway).
        redirectUris: [`${publicUrl}/oauth2/callback`, `${publicUrl.replace('http:', 'https:')}/oauth2/callback`],
        postLogoutRedirectUris: [`${publicUrl}/`, `${publicUrl}/bye`],
        authMethod: options.clientAuthMethod ?? 'client_secret_basic',
        ...(options.backchannelLogout ? { backchannelLogoutUri: `${publicUrl}/oauth2/backchannel_logout` } : {}),
      },
    ],
    ...options.idp,
  });
  const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
  options.configure?.(tree);
  let gateway: StartedGateway;
  try {
    gateway = await startGateway(tree, { port, keysRefreshMs: options.keysRefreshMs, now: options.now });
  } catch (err) {
    await Promise.all([idp.close(), upstream.close()]);
    throw err;
  }
  return {
    idp,
    upstream,
    gateway,
    publicUrl,
    browser: () => new BrowserClient(),
    async signIn(login, path = '/') {
      const browser = new BrowserClient();
      const result = await browser.login(`${publicUrl}${path}`, login);
      if (result.response?.status !== 200) throw new Error(`sign-in as ${login} ended with ${result.response?.status}`);
      return browser;
    },
    close: async () => {
      await gateway.close();
      await Promise.all([idp.close(), upstream.close()]);
    },
  };
}

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
export function writeConfigFile(tree: ConfigTree): string {
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
