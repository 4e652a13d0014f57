/**
 * `npm run demo`: two development identity providers ("Staff" and "Partners"), the demo "legacy app", Redis
 * when redis-server is installed, and authgate in front of them with its admin API, all on 127.0.0.1,
 * configured by config/demo.yaml and branded by demo/pages/. Run directly it prints where to go, how to sign
 * in and how to list and end sessions, and stops cleanly on Ctrl-C; tests import `startDemo` to run the same
 * stack in-process on free ports.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { buildApp, type Gateway } from '../src/app.js';
import { ConfigError, loadConfigFile } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { startIdp } from '../test/helpers/idp.js';
import { demoBanner } from './banner.js';
import { startLegacyApp } from './legacy-app.js';
import { startSessionStore } from './session-store.js';
import { demoUsersByProvider } from './users.js';

export { demoBanner } from './banner.js';

/** The demo's gateway configuration. */
export const DEMO_CONFIG_FILE = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));

/** The demo's branded pages (pages.dir), found from here so that any working directory works. */
const DEMO_PAGES_DIR = fileURLToPath(new URL('./pages', import.meta.url));

/** How long the gateway may take to load the providers' metadata before the demo gives up. */
const PROVIDER_READY_TIMEOUT_MS = 15_000;

/** A second SIGINT sooner than this after the first is the same Ctrl-C relayed again (see main). */
const SAME_CTRL_C_MS = 1_000;

/** The demo's admin API is for this machine only. */
const ADMIN_HOST = '127.0.0.1';

/**
 * Where the demo's servers listen; a missing port comes from DEMO_PORT / DEMO_IDP_PORT / DEMO_PARTNERS_PORT /
 * DEMO_APP_PORT / DEMO_ADMIN_PORT or config/demo.yaml's default.
 */
export interface DemoOptions {
  gatewayPort?: number;
  /** Staff's identity provider. */
  idpPort?: number;
  /** Partners' identity provider. */
  partnersPort?: number;
  appPort?: number;
  adminPort?: number;
  /** Keep the gateway's JSON logs off stdout (in memory, see `logs`). */
  quiet?: boolean;
  /** Environment to read DEMO_* from; default process.env. */
  env?: Record<string, string | undefined>;
}

/** A running demo stack. */
export interface RunningDemo {
  /** The gateway's public URL (what a browser opens), no trailing slash. */
  url: string;
  /** Staff's issuer (the first provider). */
  idpUrl: string;
  /** Each provider's issuer by provider id, in configuration order. */
  idpUrls: Record<string, string>;
  /** The legacy app, reachable directly (it has no login of its own). */
  appUrl: string;
  /** The admin API's base URL (on 127.0.0.1), no trailing slash. */
  adminUrl: string;
  /** The admin token (DEMO_ADMIN_TOKEN, random unless given): printed in the banner, on purpose. */
  adminToken: string;
  /** The Redis server the demo started for the sessions, or undefined (cookie store, or the user's Redis). */
  redisUrl: string | undefined;
  /** The validated gateway configuration. */
  config: Config;
  /** The gateway's log lines when `quiet` (for test diagnostics); empty otherwise. */
  logs: string[];
  /** Stops the gateway (finishing in-flight requests), then the app, the providers and Redis. */
  close(): Promise<void>;
}

/** Starts providers, legacy app, Redis and gateway; resolves once the gateway has loaded every provider's metadata. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const base = options.env ?? process.env;
  const env: Record<string, string | undefined> = {
    ...base,
    // A fresh secret, key and token each start unless given: nothing secret is checked in, and nothing to set up.
    DEMO_CLIENT_SECRET: base.DEMO_CLIENT_SECRET || randomBytes(24).toString('base64url'),
    DEMO_PARTNERS_CLIENT_SECRET: base.DEMO_PARTNERS_CLIENT_SECRET || randomBytes(24).toString('base64url'),
    DEMO_SESSION_KEY: base.DEMO_SESSION_KEY || randomBytes(32).toString('base64'),
    DEMO_ADMIN_TOKEN: base.DEMO_ADMIN_TOKEN || randomBytes(24).toString('base64url'),
    DEMO_PAGES_DIR: base.DEMO_PAGES_DIR || DEMO_PAGES_DIR,
  };
  const ports = { DEMO_PORT: options.gatewayPort, DEMO_IDP_PORT: options.idpPort, DEMO_PARTNERS_PORT: options.partnersPort, DEMO_APP_PORT: options.appPort, DEMO_ADMIN_PORT: options.adminPort };
  for (const [name, port] of Object.entries(ports)) if (port !== undefined) env[name] = String(port);

  const closers: Array<() => Promise<void>> = [];
  // Gateway first (it drains in-flight requests), then the app, the providers and Redis; every one is closed
  // even when an earlier one fails.
  const closeAll = async () => {
    const failures: unknown[] = [];
    for (const close of closers.splice(0).reverse()) await close().catch((err: unknown) => failures.push(err));
    if (failures.length) throw new AggregateError(failures, `${failures.length} demo server(s) did not close cleanly`);
  };
  const logs: string[] = [];
  try {
    const sessions = await startSessionStore(env);
    closers.push(() => sessions.close());
    Object.assign(env, sessions.env);

    // The YAML is the one source of truth: the providers and the app listen where it says they are.
    const config = loadConfigFile(DEMO_CONFIG_FILE, env);
    const publicUrl = config.server.publicUrl.replace(/\/$/, '');
    const appUrls = [...new Set(config.upstreams.flatMap((u) => (u.url ? [new URL(u.url).origin] : [])))];
    if (appUrls.length !== 1 || !appUrls[0]) throw new Error(`${DEMO_CONFIG_FILE}: expected every upstream to be the one legacy app`);
    const appPort = portOf(appUrls[0]);
    if (config.admin.listen === '' || config.admin.listen.host !== ADMIN_HOST) {
      throw new Error(`${DEMO_CONFIG_FILE}: the demo's admin.listen must be on ${ADMIN_HOST}`);
    }
    const adminListen = config.admin.listen;

    // One after the other: a provider that fails to start must not leave another starting unseen by closeAll.
    const idps: Array<readonly [string, string]> = [];
    for (const provider of config.providers) {
      const users = demoUsersByProvider[provider.id];
      if (!users) throw new Error(`${DEMO_CONFIG_FILE}: the demo has no users for provider "${provider.id}" (demo/users.ts)`);
      const idp = await startIdp({
        port: portOf(provider.issuer),
        users,
        // Both providers are on 127.0.0.1, and browsers share cookies across ports: keep their names apart.
        cookieSuffix: `_${provider.id}`,
        clients: [
          {
            clientId: provider.clientId,
            clientSecret: provider.clientSecret,
            redirectUris: [`${publicUrl}/oauth2/callback`],
            postLogoutRedirectUris: [`${publicUrl}/`, `${publicUrl}/oauth2/signed_out`],
            authMethod: provider.clientAuthMethod,
          },
        ],
      });
      closers.push(() => idp.close());
      idps.push([provider.id, idp.issuer]);
    }
    const app = await startLegacyApp(appPort);
    closers.push(() => app.close());

    // Synchronous stdout logging (the gateway's own default is asynchronous): the demo's traffic is tiny, and
    // this keeps the JSON lines and the banner in the order they happened.
    const logStream = options.quiet ? memoryStream(logs) : pino.destination({ dest: 1, sync: true });
    const gateway = await buildApp(config, { logStream });
    closers.push(() => stopGateway(gateway));
    await gateway.app.listen({ host: config.server.listen.host, port: config.server.listen.port });
    await gateway.admin?.listen({ host: adminListen.host, port: adminListen.port });
    await withTimeout(
      gateway.services.providers.whenAllReady,
      PROVIDER_READY_TIMEOUT_MS,
      `the gateway could not load the providers' metadata (${config.providers.map((p) => p.issuer).join(', ')}) within ${PROVIDER_READY_TIMEOUT_MS / 1000}s`,
    );
    const idpUrls = Object.fromEntries(idps);
    return {
      url: publicUrl,
      idpUrl: idps[0]?.[1] ?? '',
      idpUrls,
      appUrl: app.url,
      adminUrl: `http://${adminListen.host}:${adminListen.port}`,
      adminToken: config.admin.tokens[0] ?? '',
      redisUrl: sessions.startedRedisUrl,
      config,
      logs,
      close: closeAll,
    };
  } catch (err) {
    await closeAll().catch(() => undefined); // the start-up error is the one to report
    throw err;
  }
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

  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C can arrive twice: the terminal signals the whole process group, and tsx (npm run demo)
      // signals its child again when the child has not confirmed within 30 ms, as on a busy machine.
      if (Date.now() - stoppingSince < SAME_CTRL_C_MS) return;
      process.stderr.write(`demo: ${signal} again, stopping now\n`);
      process.exit(1);
    }
    stoppingSince = Date.now();
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
    return `${where} is already in use; set DEMO_PORT, DEMO_IDP_PORT, DEMO_APP_PORT, DEMO_PARTNERS_PORT and DEMO_ADMIN_PORT to free ports (defaults 4180 to 4184)`;
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
