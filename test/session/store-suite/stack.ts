/**
 * The stack each session-store scenario runs against: a real oidc-provider (refresh-token rotation on), a
 * recording upstream and a real gateway in front of the store under test. The gateway runs on a test clock
 * (`clock`) the scenarios move on instead of waiting for its timeouts and refresh moments.
 */
import assert from 'node:assert/strict';
import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl } from '../../../src/config/redis-url.js';
import type { SessionData } from '../../../src/session/types.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import {
  baseConfig,
  freePort,
  startGateway,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type ConfigTree,
  type StartedGateway,
} from '../../helpers/gateway.js';
import { startIdp, type IdpOptions, type StartedIdp } from '../../helpers/idp.js';
import { createTestClock, type TestClock } from '../../helpers/test-clock.js';
import { startUpstream, type StartedUpstream } from '../../helpers/upstream.js';
import { boxesFor, cookieValue, JSON_ACCEPT, type SessionStoreSetup } from './helpers.js';

/** What one scenario changes from the defaults. */
export interface StackOptions {
  /** Applied to `session` after the store's own configure (timeouts, skew, keys). */
  session?: Partial<ConfigTree['session']>;
  idp?: Partial<IdpOptions>;
  /** Registers the gateway's back-channel logout URI at the provider. */
  backchannelLogout?: boolean;
}

/** Provider, upstream and a gateway in front of the store under test, with the handles the scenarios need. */
export interface StoreStack {
  idp: StartedIdp;
  upstream: StartedUpstream;
  publicUrl: string;
  /** The clock the gateway (and any replica) judges timeouts, refresh moments and the back-off by. */
  clock: TestClock;
  /** The running gateway (a new one after `restart`). */
  readonly gateway: StartedGateway;
  /** Signs a new browser in as `login` (through the gateway, the provider's login and consent pages). */
  signIn(login: string): Promise<BrowserClient>;
  /** The session behind a browser's cookie as the store holds it (cookie or Redis record), or null. */
  sessionOf(browser: BrowserClient): Promise<SessionData | null>;
  /** The raw sealed record in Redis behind a cookie (Redis store only). */
  rawRecord(value: string): Promise<string | null>;
  /** An API request (Accept: application/json) with the browser's cookies. */
  api(browser: BrowserClient, path?: string): Promise<Response>;
  /** One series' value from /metrics (0 when absent). */
  metric(series: string): Promise<number>;
  /**
   * Stops the gateway and starts it again on the same port (same store) after `change` edits the config.
   * By default it waits for the provider's metadata and then checks /ready, as a load balancer would;
   * `immediate` sends traffic at once, as a gateway without a readiness gate gets it (the CLI listens
   * before discovery finishes).
   */
  restart(change: (tree: ConfigTree) => void, options?: { immediate?: boolean }): Promise<void>;
  /** A second gateway on another port with the same configuration and store (another replica). */
  startReplica(): Promise<StartedGateway>;
  /** True when the store is Redis (the suite reads records through its own connection). */
  usesRedis: boolean;
  close(): Promise<void>;
}

/** The suite's own connection to the gateway's Redis (a Cluster client for a redis+cluster:// URL). */
function adminConnection(url: string): Redis | Cluster {
  const target = parseRedisUrl(url);
  if (target.mode === 'cluster') return new Cluster(target.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Starts a provider, an upstream and a gateway on a test clock in front of the store under test. */
export async function startStoreStack(setup: SessionStoreSetup, options: StackOptions = {}): Promise<StoreStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const upstream = await startUpstream();
  const idp = await startIdp({
    clients: [
      {
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        redirectUris: [`${publicUrl}/oauth2/callback`],
        postLogoutRedirectUris: [`${publicUrl}/`, `${publicUrl}/oauth2/signed_out`],
        ...(options.backchannelLogout ? { backchannelLogoutUri: `${publicUrl}/oauth2/backchannel_logout` } : {}),
      },
    ],
    ...options.idp,
  });
  const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
  const clock = createTestClock();
  let gateway: StartedGateway;
  try {
    await setup.configure(tree);
    Object.assign(tree.session, options.session);
    gateway = await startGateway(tree, { port, now: clock.now });
  } catch (err) {
    await Promise.all([idp.close(), upstream.close()]);
    throw err;
  }
  const redisUrl = tree.session.store === 'redis' ? tree.session.redis?.url : undefined;
  const redis = redisUrl ? adminConnection(redisUrl) : undefined;

  /** The sealed record behind a Redis-store cookie (HGET authgate:{<id>}:s data), or null. */
  async function recordOf(value: string): Promise<string | null> {
    const rid = (await boxesFor(tree.session.keys, tree)).session.open(value)?.data.rid;
    if (!redis || typeof rid !== 'string') return null;
    return redis.hget(`authgate:{${rid}}:s`, 'data');
  }

  async function sessionFromCookie(value: string | undefined): Promise<SessionData | null> {
    if (value === undefined) return null;
    const boxes = await boxesFor(tree.session.keys, tree);
    if (!redis) return (boxes.session.open(value)?.data as SessionData | undefined) ?? null;
    const record = await recordOf(value);
    return record === null ? null : ((boxes.record.open(record)?.data as SessionData | undefined) ?? null);
  }

  return {
    idp,
    upstream,
    publicUrl,
    clock,
    get gateway() {
      return gateway;
    },
    usesRedis: redis !== undefined,
    async signIn(login) {
      const browser = new BrowserClient();
      const result = await browser.login(`${publicUrl}/`, login);
      assert.equal(result.response?.status, 200, `sign-in as ${login} ends at the application`);
      await result.response?.body?.cancel();
      return browser;
    },
    sessionOf: (browser) => sessionFromCookie(cookieValue(browser)),
    rawRecord: recordOf,
    api: (browser, path = '/api/data') => browser.fetch(`${publicUrl}${path}`, { headers: JSON_ACCEPT }),
    async metric(series) {
      const text = await (await fetch(`${publicUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    },
    async restart(change, restartOptions = {}) {
      await gateway.close();
      change(tree);
      gateway = await startGateway(tree, { port, waitForProvider: !restartOptions.immediate, now: clock.now });
      if (restartOptions.immediate) return;
      // startGateway has waited for the provider's metadata and listen for the store's first connection.
      const ready = await fetch(`${publicUrl}/ready`);
      assert.equal(ready.status, 200, `the restarted gateway is ready: ${await ready.text()}`);
    },
    async startReplica() {
      const replicaPort = await freePort();
      return startGateway({ ...tree, server: { ...tree.server, listen: `127.0.0.1:${replicaPort}` } }, { port: replicaPort, now: clock.now });
    },
    async close() {
      await gateway.close();
      await redis?.quit();
      await Promise.all([idp.close(), upstream.close()]);
      await setup.teardown?.();
    },
  };
}
