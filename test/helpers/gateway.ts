/**
 * Starts real gateways for tests: in-process (buildApp + listen on a free port, logs captured) and, for
 * CLI behaviour, as a child process (gateway-cli.ts, re-exported here). `startStack` brings up the whole
 * chain: identity provider, recording upstream and gateway. Fixed test values are in gateway-config.ts.
 */
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { buildApp, type Gateway } from '../../src/app.js';
import { parseConfigText } from '../../src/config/load.js';
import { BrowserClient } from './browser-client.js';
import { baseConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type AnyConfigTree, type ConfigTree } from './gateway-config.js';
import { startIdp, type IdpClient, type IdpOptions, type StartedIdp } from './idp.js';
import { freePort } from './ports.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

export { freePort };
export {
  baseConfig,
  OTHER_SESSION_KEY,
  ROOT,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_SESSION_KEY,
  type AnyConfigTree,
  type ConfigTree,
} from './gateway-config.js';
export { runCli, startCliStack, waitForOutput, writeConfigFile, type CliStack, type GatewayProcess } from './gateway-cli.js';

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

/** How long a test gateway's close may wait for its connections and upstream exchanges before they are cut. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Closes a test gateway. app.close() waits for every connection still carrying a request and for the
 * upstream exchanges behind them; a test that leaves one open (a body it never read) would hold its file
 * until the runner's timeout. After CLOSE_GRACE_MS the connections are cut, and stderr says what was open.
 */
async function closeGateway(gateway: Gateway): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = gateway.app.close();
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
  const outcome = await Promise.race([closed.then(() => 'closed' as const), late]);
  clearTimeout(timer);
  if (outcome === 'closed') return;
  const open = process.getActiveResourcesInfo().join(', ');
  process.stderr.write(`test gateway: close() still waiting after ${CLOSE_GRACE_MS} ms; in flight ${JSON.stringify(gateway.inFlightRequests())}; active ${open}; cutting its connections\n`);
  gateway.app.server.closeAllConnections();
  await closed;
}

/** Builds and starts a gateway from a configuration tree (validated exactly as a YAML file would be). */
export async function startGateway(
  tree: AnyConfigTree,
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
  if (options.waitForProvider !== false) await gateway.services.providers.whenAllReady;
  return {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    gateway,
    logs,
    logEntries: () => logs.map((line) => JSON.parse(line) as Record<string, unknown>),
    close: () => closeGateway(gateway),
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
  clientAuthMethod?: IdpClient['authMethod'];
  /** More of the gateway's registration at the provider (keys, jwksUri, requirePar), given the gateway's public URL. */
  client?: (publicUrl: string) => Partial<IdpClient>;
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
        postLogoutRedirectUris: [`${publicUrl}/`, `${publicUrl}/bye`, `${publicUrl}/oauth2/signed_out`],
        authMethod: options.clientAuthMethod ?? 'client_secret_basic',
        ...(options.backchannelLogout ? { backchannelLogoutUri: `${publicUrl}/oauth2/backchannel_logout` } : {}),
        ...options.client?.(publicUrl),
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
