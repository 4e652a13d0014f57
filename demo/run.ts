/**
 * `npm run demo`: a development identity provider, the demo "legacy app" and authgate in front of it, all on
 * 127.0.0.1, configured by config/demo.yaml. Run directly it prints where to go and how to sign in, and stops
 * cleanly on Ctrl-C; tests import `startDemo` to run the same stack in-process on free ports.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { buildApp, type Gateway } from '../src/app.js';
import { ConfigError, loadConfigFile } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { demoUsers, startIdp } from '../test/helpers/idp.js';
import { startLegacyApp } from './legacy-app.js';

/** The demo's gateway configuration. */
export const DEMO_CONFIG_FILE = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));

/** The client id config/demo.yaml uses and the demo provider registers. */
const DEMO_CLIENT_ID = 'authgate-demo';

/** How long the gateway may take to load the provider's metadata before the demo gives up. */
const PROVIDER_READY_TIMEOUT_MS = 15_000;

/** Where the demo's three servers listen; a missing port comes from DEMO_PORT / DEMO_IDP_PORT / DEMO_APP_PORT or config/demo.yaml's default. */
export interface DemoOptions {
  gatewayPort?: number;
  idpPort?: number;
  appPort?: number;
  /** Keep the gateway's JSON logs off stdout (in memory, see `logs`). */
  quiet?: boolean;
  /** Environment to read DEMO_* from; default process.env. */
  env?: Record<string, string | undefined>;
}

/** A running demo stack. */
export interface RunningDemo {
  /** The gateway's public URL (what a browser opens), no trailing slash. */
  url: string;
  /** The identity provider's issuer. */
  idpUrl: string;
  /** The legacy app, reachable directly (it has no login of its own). */
  appUrl: string;
  /** The validated gateway configuration. */
  config: Config;
  /** The gateway's log lines when `quiet` (for test diagnostics); empty otherwise. */
  logs: string[];
  /** Stops the gateway (finishing in-flight requests), then the app and the provider. */
  close(): Promise<void>;
}

/** Starts provider, legacy app and gateway; resolves once the gateway has loaded the provider's metadata. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const base = options.env ?? process.env;
  const env: Record<string, string | undefined> = {
    ...base,
    // A fresh secret and key each start unless given: nothing secret is checked in, and nothing to set up.
    DEMO_CLIENT_SECRET: base.DEMO_CLIENT_SECRET || randomBytes(24).toString('base64url'),
    DEMO_SESSION_KEY: base.DEMO_SESSION_KEY || randomBytes(32).toString('base64'),
  };
  if (options.gatewayPort !== undefined) env.DEMO_PORT = String(options.gatewayPort);
  if (options.idpPort !== undefined) env.DEMO_IDP_PORT = String(options.idpPort);
  if (options.appPort !== undefined) env.DEMO_APP_PORT = String(options.appPort);

  // The YAML is the one source of truth: the provider and the app listen where it says they are.
  const config = loadConfigFile(DEMO_CONFIG_FILE, env);
  const publicUrl = config.server.publicUrl.replace(/\/$/, '');
  const idpPort = portOf(config.oidc.issuer);
  const appUrls = [...new Set(config.upstreams.flatMap((u) => (u.url ? [new URL(u.url).origin] : [])))];
  if (appUrls.length !== 1 || !appUrls[0]) throw new Error(`${DEMO_CONFIG_FILE}: expected every upstream to be the one legacy app`);
  const appPort = portOf(appUrls[0]);

  const closers: Array<() => Promise<void>> = [];
  // Gateway first (it drains in-flight requests), then the app and the provider; every one is closed even
  // when an earlier one fails.
  const closeAll = async () => {
    const failures: unknown[] = [];
    for (const close of closers.splice(0).reverse()) await close().catch((err: unknown) => failures.push(err));
    if (failures.length) throw new AggregateError(failures, `${failures.length} demo server(s) did not close cleanly`);
  };
  const logs: string[] = [];
  try {
    const idp = await startIdp({
      port: idpPort,
      users: demoUsers,
      clients: [
        {
          clientId: DEMO_CLIENT_ID,
          clientSecret: config.oidc.clientSecret,
          redirectUris: [`${publicUrl}/oauth2/callback`],
          postLogoutRedirectUris: [`${publicUrl}/`, `${publicUrl}/oauth2/signed_out`],
          authMethod: config.oidc.clientAuthMethod,
        },
      ],
    });
    closers.push(() => idp.close());
    const app = await startLegacyApp(appPort);
    closers.push(() => app.close());

    // Synchronous stdout logging (the gateway's own default is asynchronous): the demo's traffic is tiny, and
    // this keeps the JSON lines and the banner in the order they happened.
    const logStream = options.quiet ? memoryStream(logs) : pino.destination({ dest: 1, sync: true });
    const gateway = await buildApp(config, { logStream });
    closers.push(() => stopGateway(gateway));
    await gateway.app.listen({ host: config.server.listen.host, port: config.server.listen.port });
    await withTimeout(
      gateway.services.providers.whenAllReady,
      PROVIDER_READY_TIMEOUT_MS,
      `the gateway could not load the provider's metadata from ${config.oidc.issuer} within ${PROVIDER_READY_TIMEOUT_MS / 1000}s`,
    );
    return { url: publicUrl, idpUrl: idp.issuer, appUrl: app.url, config, logs, close: closeAll };
  } catch (err) {
    await closeAll().catch(() => undefined); // the start-up error is the one to report
    throw err;
  }
}

/** The text `npm run demo` prints once everything is up. */
export function demoBanner(demo: RunningDemo): string {
  // Who may open /admin is read from the configuration, so the banner cannot drift from the policy.
  const admin = demo.config.upstreams.find((u) => u.path === '/admin');
  const adminGroups = admin?.allow.groups ?? [];
  const mayOpenAdmin = (groups: string[]) => adminGroups.length === 0 || groups.some((g) => adminGroups.includes(g));
  const width = Math.max(...demoUsers.map((u) => u.preferredUsername.length));
  const users = demoUsers.map((user) => {
    const what = mayOpenAdmin(user.groups) ? 'can open /admin' : 'gets 403 on /admin, / works';
    return `    ${user.preferredUsername.padEnd(width)}  groups: ${user.groups.join(', ')}; ${what}`;
  });
  return [
    '',
    'authgate demo is running.',
    '',
    `  Open ${demo.url}/ in a browser.`,
    '',
    `  Sign in at the demo identity provider (${demo.idpUrl}) with any password as:`,
    ...users,
    '',
    `  Admin area:  ${demo.url}/admin`,
    `  Sign out:    ${demo.url}/oauth2/sign_out`,
    `  The legacy app itself (no login; it only shows what the gateway forwards): ${demo.appUrl}/`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}

/** `npm run demo`: start, print the banner, stop on SIGINT/SIGTERM with exit code 0. */
async function main(): Promise<void> {
  let demo: RunningDemo;
  try {
    demo = await startDemo();
  } catch (err) {
    process.stderr.write(`demo: ${describeStartError(err)}\n`);
    process.exit(1);
  }
  console.log(demoBanner(demo));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`demo: ${signal} again, stopping now\n`);
      process.exit(1);
    }
    stopping = true;
    demo.close().then(
      () => {
        console.log('demo stopped');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`demo: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Stops accepting, lets in-flight requests finish, and closes the gateway. */
async function stopGateway(gateway: Gateway): Promise<void> {
  gateway.beginShutdown();
  await gateway.app.close();
}

/** One line for the usual start-up failures: a bad DEMO_* value or a port in use. */
function describeStartError(err: unknown): string {
  if (err instanceof ConfigError) return `invalid configuration ${err.message}`;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE') {
    const where = e.address && e.port ? `${e.address}:${e.port}` : 'a port';
    return `${where} is already in use; set DEMO_PORT, DEMO_IDP_PORT and DEMO_APP_PORT to free ports (defaults 4180, 4181, 4182)`;
  }
  return err instanceof Error ? err.message : String(err);
}

function portOf(url: string): number {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
}

function memoryStream(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter((line) => line !== ''));
      callback();
    },
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Run only as the program itself (`tsx demo/run.ts`), not when a test imports startDemo.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  void main();
}
