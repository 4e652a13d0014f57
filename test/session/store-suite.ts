/**
 * The one session-store test suite, run against every store and variant (`store-cookie.test.ts`,
 * `store-redis.test.ts`, `store-redis-no-client-cache.test.ts`, `store-redis-cluster.test.ts`), the way
 * oauth2-proxy runs one suite against each of its session stores. Every scenario is something a user
 * sees, over real HTTP: a real oidc-provider (refresh-token rotation on), a recording upstream and a real
 * gateway. Where the stores differ on purpose (a copied stateless cookie outlives a sign-out), the `shared`
 * flag says which behaviour is asserted.
 *
 * Timing: the gateway caps the refresh skew at half a token's lifetime, so a refresh is made due with short
 * access-token TTLs and a skew of exactly half of them (2 s tokens are due after 1 s, 4 s tokens after 2 s);
 * the waits are computed from the sealed session's own `expiresAt`/`createdAt`, never guessed. The longest
 * waits are the real-expiry scenario (about 2 s) and the timeout scenario (about 4 s).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl } from '../../src/config/redis-url.js';
import type { SessionData } from '../../src/session/types.js';
import { BrowserClient } from '../helpers/browser-client.js';
import {
  baseConfig,
  freePort,
  OTHER_SESSION_KEY,
  startGateway,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_SESSION_KEY,
  type ConfigTree,
  type StartedGateway,
} from '../helpers/gateway.js';
import { startIdp, type IdpOptions, type StartedIdp } from '../helpers/idp.js';
import { bindingOf, sealBoxesFor, type GatewayRef } from '../helpers/seal.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

/** How a test file puts one store under the suite. */
export interface SessionStoreSetup {
  /** Points the gateway's configuration at the store (runs before each scenario's own session settings). */
  configure(tree: ConfigTree): void | Promise<void>;
  /** Runs after each scenario's gateway has stopped (e.g. empties Redis). */
  teardown?(): Promise<void>;
  /** True when sessions live in a store every replica shares (Redis), false for stateless cookies. */
  shared: boolean;
}

const KEY_A = TEST_SESSION_KEY;
const KEY_B = OTHER_SESSION_KEY;
const KEY_C = Buffer.alloc(32, 0x77).toString('base64');
const COOKIE = 'authgate';
const JSON_ACCEPT = { accept: 'application/json' };
const REFRESH_RETRY_MS = 200; // startGateway's refreshRetryMs
const CLEARED = /Max-Age=0|Expires=Thu, 01 Jan 1970/i;

type Boxes = Awaited<ReturnType<typeof sealBoxesFor>>;
const boxCache = new Map<string, Promise<Boxes>>();
/** The seal boxes of a key list at one gateway (cached: building them registers a fastify plugin). */
function boxesFor(keys: string[], gateway: GatewayRef): Promise<Boxes> {
  const id = JSON.stringify([keys, bindingOf(gateway)]);
  let boxes = boxCache.get(id);
  if (!boxes) boxCache.set(id, (boxes = sealBoxesFor(keys, gateway)));
  return boxes;
}

/** Waits until the wall clock reaches `at` (ms since the epoch). */
async function sleepUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
}

/** The session cookie a browser holds, its chunks joined (`authgate`, `authgate_1`, …). */
function cookieValue(browser: BrowserClient): string | undefined {
  let sealed: string | undefined;
  for (let i = 0; ; i += 1) {
    const part = browser.jar.get(i === 0 ? COOKIE : `${COOKIE}_${i}`)?.value;
    if (part === undefined) return sealed;
    sealed = (sealed ?? '') + part;
  }
}

/** The Set-Cookie of the session cookie in a response, if any. */
function sessionSetCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
}

/** Asserts the response does not clear the session cookie. */
function assertCookieKept(response: Response, why: string): void {
  const set = sessionSetCookie(response);
  assert.ok(set === undefined || !CLEARED.test(set), `${why}: the session cookie must not be cleared (got ${set})`);
}

/** Asserts the response clears the session cookie. */
function assertCookieCleared(response: Response, why: string): void {
  const set = sessionSetCookie(response);
  assert.ok(set !== undefined && CLEARED.test(set), `${why}: the session cookie is cleared (got ${set ?? 'no Set-Cookie'})`);
}

/** What one scenario changes from the defaults. */
interface StackOptions {
  /** Applied to `session` after the store's own configure (timeouts, skew, keys). */
  session?: Partial<ConfigTree['session']>;
  idp?: Partial<IdpOptions>;
  /** Registers the gateway's back-channel logout URI at the provider. */
  backchannelLogout?: boolean;
}

/** Provider, upstream and a gateway in front of the store under test, with the handles the scenarios need. */
interface StoreStack {
  idp: StartedIdp;
  upstream: StartedUpstream;
  publicUrl: string;
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
   * By default it then waits for /ready, as a load balancer would; `immediate` sends traffic at once, as
   * a gateway without a readiness gate gets it (the CLI listens before discovery finishes).
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

async function startStoreStack(setup: SessionStoreSetup, options: StackOptions = {}): Promise<StoreStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const upstream = await startUpstream();
  const idp = await startIdp({
    clients: [
      {
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        redirectUris: [`${publicUrl}/oauth2/callback`],
        postLogoutRedirectUris: [`${publicUrl}/`],
        ...(options.backchannelLogout ? { backchannelLogoutUri: `${publicUrl}/oauth2/backchannel_logout` } : {}),
      },
    ],
    ...options.idp,
  });
  const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
  let gateway: StartedGateway;
  try {
    await setup.configure(tree);
    Object.assign(tree.session, options.session);
    gateway = await startGateway(tree, { port });
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
      gateway = await startGateway(tree, { port, waitForProvider: !restartOptions.immediate });
      if (restartOptions.immediate) return;
      const deadline = Date.now() + 5_000;
      for (;;) {
        const ready = await fetch(`${publicUrl}/ready`);
        await ready.body?.cancel();
        if (ready.status === 200) return;
        assert.ok(Date.now() < deadline, 'the restarted gateway became ready');
        await sleep(25);
      }
    },
    async startReplica() {
      const replicaPort = await freePort();
      return startGateway({ ...tree, server: { ...tree.server, listen: `127.0.0.1:${replicaPort}` } }, { port: replicaPort });
    },
    async close() {
      await gateway.close();
      await redis?.quit();
      await Promise.all([idp.close(), upstream.close()]);
      await setup.teardown?.();
    },
  };
}

/** The suite: one describe per behaviour, each with its own provider, upstream and gateway. */
export function describeSessionStore(name: string, setup: SessionStoreSetup): void {
  describe(`session store: ${name}`, () => {
    describe('sign-in, proxying and userinfo', () => {
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup);
      });
      after(() => stack.close());

      it('proxies a signed-in request with the identity headers and the access token', async () => {
        const browser = await stack.signIn('alice');
        const session = await stack.sessionOf(browser);
        assert.ok(session, 'the store holds the new session');
        const response = await stack.api(browser, '/api/orders?page=2');
        assert.equal(response.status, 200);
        await response.body?.cancel();
        const seen = stack.upstream.last();
        assert.equal(seen?.url, '/api/orders?page=2');
        assert.equal(seen.headers['x-forwarded-user'], 'alice');
        assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com');
        assert.equal(seen.headers['x-forwarded-preferred-username'], 'alice');
        assert.equal(seen.headers['x-forwarded-groups'], 'admins,staff');
        assert.equal(seen.headers.authorization, `Bearer ${session.tokens.accessToken}`);
        // The provider's own cookies (same host, another port) do reach it, as a browser would send them.
        assert.doesNotMatch(String(seen.headers.cookie ?? ''), /(^|;\s*)authgate/, 'the gateway cookie never reaches the upstream');
      });

      it('answers /oauth2/userinfo for the session, and 401 without one', async () => {
        const browser = await stack.signIn('bob');
        const response = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: JSON_ACCEPT });
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { user: 'bob', email: 'bob@example.org', preferredUsername: 'bob', groups: ['staff'] });
        const anonymous = await fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: JSON_ACCEPT });
        assert.equal(anonymous.status, 401);
        assert.deepEqual(await anonymous.json(), { error: 'unauthenticated' });
      });

      it(setup.shared ? 'keeps only an opaque id in the cookie and a sealed record in the store' : 'keeps the whole sealed session in the cookie', async () => {
        const browser = await stack.signIn('alice');
        const value = cookieValue(browser);
        assert.ok(value, 'a session cookie was set');
        const opened = (await boxesFor([KEY_A], stack)).session.open(value);
        assert.ok(opened, 'the cookie is sealed under the session key');
        const session = await stack.sessionOf(browser);
        assert.ok(session);
        if (setup.shared) {
          assert.equal(opened.data.tokens, undefined, 'no token in the cookie');
          assert.match(String(opened.data.rid), /^[A-Za-z0-9_-]{22,}$/, 'a random id of at least 128 bits');
          const raw = await stack.rawRecord(value);
          assert.ok(raw, 'the record is in Redis');
          assert.ok(!raw.includes(session.tokens.accessToken), 'the record in Redis holds no readable token');
        } else {
          assert.equal((opened.data as unknown as SessionData).tokens.accessToken, session.tokens.accessToken);
        }
      });
    });

    describe('token refresh (rotating refresh tokens)', () => {
      // Tokens live 2 s and are due 1 s before they expire (half their life, so a skew capped at half the
      // token's lifetime gives the same moment): due a second after each refresh, not before.
      const SKEW_MS = 1_000;
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup, { idp: { accessTokenTtl: 2 }, session: { refreshSkew: '1s' } });
      });
      after(() => stack.close());

      async function waitUntilDue(browser: BrowserClient): Promise<SessionData> {
        const session = await stack.sessionOf(browser);
        assert.ok(session?.tokens.expiresAt, 'the session knows when its access token expires');
        assert.ok(session.tokens.refreshToken, 'the provider issued a refresh token');
        await sleepUntil(session.tokens.expiresAt - SKEW_MS + 50);
        return session;
      }

      it('refreshes a due token once, sends the new token upstream and keeps the session', async () => {
        const browser = await stack.signIn('alice');
        const grants = stack.idp.refreshGrants();
        const early = await stack.api(browser);
        assert.equal(early.status, 200);
        await early.body?.cancel();
        assert.equal(stack.idp.refreshGrants(), grants, 'no refresh while the token is not due');

        const old = await waitUntilDue(browser);
        const successes = await stack.metric('authgate_token_refreshes_total{outcome="success"}');
        const due = await stack.api(browser);
        assert.equal(due.status, 200);
        await due.body?.cancel();
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'exactly one refresh grant for the due request');
        const sent = stack.upstream.last()?.headers.authorization;
        assert.notEqual(sent, `Bearer ${old.tokens.accessToken}`, 'the upstream gets the NEW access token');
        const refreshed = await stack.sessionOf(browser);
        assert.ok(refreshed, 'the session continues');
        assert.equal(refreshed.id, old.id, 'same session');
        assert.equal(sent, `Bearer ${refreshed.tokens.accessToken}`);
        assert.notEqual(refreshed.tokens.refreshToken, old.tokens.refreshToken, 'the rotated refresh token is kept');
        assert.equal(refreshed.gen, old.gen + 1);
        assert.equal(await stack.metric('authgate_token_refreshes_total{outcome="success"}'), successes + 1);

        const next = await stack.api(browser);
        assert.equal(next.status, 200);
        await next.body?.cancel();
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'the fresh token is not due: no second grant');
        assert.equal(stack.upstream.last()?.headers.authorization, sent);
      });

      it('20 concurrent requests with a due token make exactly one refresh grant and all get the new token', async () => {
        const browser = await stack.signIn('bob');
        const old = await waitUntilDue(browser);
        const cookie = browser.jar.cookieHeader(stack.publicUrl);
        assert.ok(cookie);
        const tokenRequests = stack.idp.tokenRequests.length;
        const grants = stack.idp.refreshGrants();
        const from = stack.upstream.requests.length;
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, i) => fetch(`${stack.publicUrl}/api/race/${i}`, { headers: { ...JSON_ACCEPT, cookie } })),
        );
        await Promise.all(responses.map((r) => r.text()));
        assert.deepEqual(responses.map((r) => r.status), Array.from({ length: 20 }, () => 200), 'all 20 succeed');
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'exactly one refresh grant');
        assert.equal(stack.idp.tokenRequests.length - tokenRequests, 1, 'exactly one token request');
        const seen = stack.upstream.requests.slice(from).filter((r) => r.url.startsWith('/api/race/'));
        assert.equal(seen.length, 20);
        const tokens = new Set(seen.map((r) => r.headers.authorization));
        assert.equal(tokens.size, 1, 'every request carried the same token upstream');
        const [fresh] = tokens;
        assert.notEqual(fresh, `Bearer ${old.tokens.accessToken}`, 'and it is the new one');

        // A request that still carries the cookie from before the refresh (sent before its answer arrived).
        const late = await fetch(`${stack.publicUrl}/api/late`, { headers: { ...JSON_ACCEPT, cookie } });
        assert.equal(late.status, 200);
        await late.body?.cancel();
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'the old cookie causes no second grant');
        assert.equal(stack.upstream.last()?.headers.authorization, fresh);
      });

      // Only a shared store can coordinate replicas (the cookie store's limitation, docs/sessions.md).
      if (setup.shared) {
        it('20 concurrent requests split across two replicas make exactly one refresh grant', async () => {
          const replica = await stack.startReplica();
          try {
            const browser = await stack.signIn('alice');
            const old = await waitUntilDue(browser);
            const cookie = browser.jar.cookieHeader(stack.publicUrl);
            assert.ok(cookie);
            const grants = stack.idp.refreshGrants();
            const from = stack.upstream.requests.length;
            const responses = await Promise.all(
              Array.from({ length: 20 }, (_, i) =>
                fetch(`${i % 2 === 0 ? stack.publicUrl : replica.url}/api/replicas/${i}`, { headers: { ...JSON_ACCEPT, cookie } }),
              ),
            );
            await Promise.all(responses.map((r) => r.text()));
            assert.deepEqual(responses.map((r) => r.status), Array.from({ length: 20 }, () => 200), 'all 20 succeed');
            assert.equal(stack.idp.refreshGrants() - grants, 1, 'exactly one refresh grant across both replicas');
            const seen = stack.upstream.requests.slice(from).filter((r) => r.url.startsWith('/api/replicas/'));
            const tokens = new Set(seen.map((r) => r.headers.authorization));
            assert.equal(seen.length, 20);
            assert.equal(tokens.size, 1, 'both replicas sent the same token upstream');
            assert.notEqual([...tokens][0], `Bearer ${old.tokens.accessToken}`);
          } finally {
            await replica.close();
          }
        });
      }
    });

    describe('refresh failures', () => {
      // Tokens live 4 s and are due 2 s before they expire. The three sessions are signed in together and
      // waited for once: every test below runs while its token is due but still valid (about 2 s).
      const SKEW_MS = 2_000;
      let stack: StoreStack;
      let refusedApi: BrowserClient;
      let refusedBrowser: BrowserClient;
      let failing: BrowserClient;
      let failingExpiresAt: number;
      before(async () => {
        stack = await startStoreStack(setup, { idp: { accessTokenTtl: 4 }, session: { refreshSkew: '2s' } });
        refusedApi = await stack.signIn('alice');
        refusedBrowser = await stack.signIn('bob');
        failing = await stack.signIn('alice');
        await useRefreshTokenElsewhere(refusedApi);
        await useRefreshTokenElsewhere(refusedBrowser);
        const expiries = await Promise.all([refusedApi, refusedBrowser, failing].map(async (b) => (await stack.sessionOf(b))?.tokens.expiresAt ?? 0));
        failingExpiresAt = expiries[2] ?? 0;
        await sleepUntil(Math.max(...expiries) - SKEW_MS + 50);
      });
      after(() => {
        stack.idp.failTokenEndpoint(null);
        return stack.close();
      });

      /** Uses the browser's refresh token at the provider behind the gateway's back (a provider with rotation then refuses it). */
      async function useRefreshTokenElsewhere(browser: BrowserClient): Promise<void> {
        const session = await stack.sessionOf(browser);
        assert.ok(session?.tokens.refreshToken);
        const response = await fetch(`${stack.idp.issuer}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.tokens.refreshToken }).toString(),
        });
        assert.equal(response.status, 200, 'the out-of-band refresh works');
        await response.body?.cancel();
      }

      it('invalid_grant ends the session: an API request gets 401 and the cookie is cleared', async () => {
        const browser = refusedApi;
        const cookie = browser.jar.cookieHeader(stack.publicUrl);
        assert.ok(cookie);
        const refused = await stack.metric('authgate_token_refreshes_total{outcome="invalid_grant"}');
        const grants = stack.idp.refreshGrants();
        const response = await stack.api(browser);
        assert.equal(response.status, 401);
        assert.deepEqual(await response.json(), { error: 'unauthenticated' });
        assertCookieCleared(response, 'after invalid_grant');
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'one refresh attempt');
        assert.equal(await stack.metric('authgate_token_refreshes_total{outcome="invalid_grant"}'), refused + 1);
        assert.equal(cookieValue(browser), undefined);

        // The same cookie replayed stays signed out.
        const replay = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie } });
        assert.equal(replay.status, 401);
        await replay.body?.cancel();
        if (setup.shared) assert.equal(stack.idp.refreshGrants() - grants, 1, 'the deleted record makes no second grant');
      });

      it('invalid_grant ends the session: a browser is sent to the provider and the cookie is cleared', async () => {
        const browser = refusedBrowser;
        const grants = stack.idp.refreshGrants();
        const response = await browser.fetch(`${stack.publicUrl}/reports`);
        assert.equal(response.status, 302);
        assert.ok(response.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`), `to the provider, got ${response.headers.get('location')}`);
        assertCookieCleared(response, 'after invalid_grant');
        assert.equal(stack.idp.refreshGrants() - grants, 1);
        assert.equal(await stack.sessionOf(browser), null);
      });

      it('keeps the session and the still-valid token when the token endpoint fails, and refreshes once it is back', async () => {
        const browser = failing;
        assert.ok(Date.now() < failingExpiresAt - 1_000, 'the test starts at least a second before the token expires');
        const old = await stack.sessionOf(browser);
        assert.ok(old);
        const errorSeries = 'authgate_token_refreshes_total{outcome="error"}';
        const errors = await stack.metric(errorSeries);
        const logsFrom = stack.gateway.logs.length;
        const attempts = stack.idp.tokenRequests.length;
        const expectOldToken = async (why: string) => {
          const response = await stack.api(browser);
          assert.equal(response.status, 200, why);
          await response.body?.cancel();
          assertCookieKept(response, why);
          assert.equal(stack.upstream.last()?.headers.authorization, `Bearer ${old.tokens.accessToken}`, `${why}: the still-valid token goes upstream`);
        };
        try {
          stack.idp.failTokenEndpoint('http-503');
          await expectOldToken('provider answers 503');
          await expectOldToken(`within the ${REFRESH_RETRY_MS} ms backoff`);
          assert.equal(stack.idp.tokenRequests.length - attempts, 1, 'one attempt, none again within the backoff');
          assert.equal(await stack.metric(errorSeries), errors + 1);
          const warned = stack.gateway.logEntries().slice(logsFrom).filter((e) => /^token refresh failed/.test(String(e.msg)));
          assert.ok(warned.length > 0, 'a "token refresh failed" log line');

          await sleep(REFRESH_RETRY_MS + 50);
          stack.idp.failTokenEndpoint('drop');
          await expectOldToken('provider drops the connection');
          assert.equal(stack.idp.tokenRequests.length - attempts, 2, 'retried after the backoff');
          assert.equal(await stack.metric(errorSeries), errors + 2);
        } finally {
          stack.idp.failTokenEndpoint(null);
        }

        await sleep(REFRESH_RETRY_MS + 50);
        const grants = stack.idp.refreshGrants();
        const response = await stack.api(browser);
        assert.equal(response.status, 200);
        await response.body?.cancel();
        assert.equal(stack.idp.refreshGrants() - grants, 1, 'refreshed once the provider is back');
        const refreshed = await stack.sessionOf(browser);
        assert.ok(refreshed);
        assert.notEqual(refreshed.tokens.accessToken, old.tokens.accessToken);
        assert.equal(stack.upstream.last()?.headers.authorization, `Bearer ${refreshed.tokens.accessToken}`);
      });
    });

    describe('expired token while the provider is down', () => {
      // Tokens really expire after 2 s (no clock tolerance at the provider).
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup, { idp: { accessTokenTtl: 2, clockTolerance: 0 }, session: { refreshSkew: '1s' } });
      });
      after(() => {
        stack.idp.failTokenEndpoint(null);
        return stack.close();
      });

      it('answers 503 (JSON for APIs, a page for browsers) and keeps the cookie; the same cookie works once the provider is back', async () => {
        const browser = await stack.signIn('alice');
        const session = await stack.sessionOf(browser);
        assert.ok(session?.tokens.expiresAt);
        const cookie = cookieValue(browser);
        try {
          stack.idp.failTokenEndpoint('http-503');
          await sleepUntil(session.tokens.expiresAt + 50);
          const api = await stack.api(browser);
          assert.equal(api.status, 503);
          assert.match(api.headers.get('content-type') ?? '', /^application\/json/);
          const body = (await api.json()) as { error?: unknown; message?: unknown };
          assert.equal(body.error, 'AUTHGATE_ERR_PROVIDER_UNAVAILABLE');
          assert.equal(typeof body.message, 'string');
          assertCookieKept(api, 'API 503');

          await sleep(REFRESH_RETRY_MS + 50);
          stack.idp.failTokenEndpoint('drop');
          const page = await browser.fetch(`${stack.publicUrl}/reports`);
          assert.equal(page.status, 503);
          assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
          assert.match(await page.text(), /503/);
          assertCookieKept(page, 'browser 503');
          assert.equal(cookieValue(browser), cookie, 'the browser still holds the same cookie');
        } finally {
          stack.idp.failTokenEndpoint(null);
        }

        await sleep(REFRESH_RETRY_MS + 50);
        const grants = stack.idp.refreshGrants();
        const back = await stack.api(browser);
        assert.equal(back.status, 200, 'the same cookie works again');
        await back.body?.cancel();
        assert.equal(stack.idp.refreshGrants() - grants, 1);
        const refreshed = await stack.sessionOf(browser);
        assert.ok(refreshed);
        assert.notEqual(refreshed.tokens.accessToken, session.tokens.accessToken);
        assert.equal(stack.upstream.last()?.headers.authorization, `Bearer ${refreshed.tokens.accessToken}`);
      });
    });

    describe('sign-out', () => {
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup);
      });
      after(() => stack.close());

      it(
        setup.shared
          ? 'ends the session everywhere: a cookie copied before sign-out is dead'
          : 'ends the browser\'s session; a copied stateless cookie stays valid until its timeouts (documented limitation)',
        async () => {
          const browser = await stack.signIn('alice');
          const copied = cookieValue(browser);
          assert.ok(copied);
          const out = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out`);
          assert.equal(out.status, 302);
          const endSession = out.headers.get('location') ?? '';
          assert.ok(endSession.startsWith(stack.idp.issuer), `RP-initiated logout at the provider, got ${endSession}`);
          assertCookieCleared(out, 'sign-out');
          await browser.logout(endSession); // confirm at the provider, back to the application
          assert.equal(cookieValue(browser), undefined);
          const own = await stack.api(browser);
          assert.equal(own.status, 401, 'the browser is signed out');
          await own.body?.cancel();

          const replay = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${copied}` } });
          await replay.body?.cancel();
          if (setup.shared) {
            assert.equal(replay.status, 401, 'the record was deleted: the copy is dead');
            assert.equal(await stack.rawRecord(copied), null);
          } else {
            // Nothing server-side can forget a stateless cookie; only timeouts, a failed refresh or a
            // back-channel logout end it (docs/sessions.md).
            assert.equal(replay.status, 200, 'the stateless copy still works');
            assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
          }
        },
      );
    });

    describe('idle and absolute timeouts', () => {
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup, { session: { idleTimeout: '2s', absoluteTimeout: '4s' } });
      });
      after(() => stack.close());

      it('activity keeps a session past the idle timeout, inactivity ends it, the absolute timeout ends it anyway', async () => {
        const active = await stack.signIn('alice');
        const idle = await stack.signIn('bob');
        const activeSince = (await stack.sessionOf(active))?.createdAt;
        const idleSince = (await stack.sessionOf(idle))?.lastSeenAt;
        assert.ok(activeSince !== undefined && idleSince !== undefined);
        const expectStatus = async (browser: BrowserClient, status: number, why: string) => {
          const response = await stack.api(browser);
          await response.body?.cancel();
          assert.equal(response.status, status, why);
        };
        for (const at of [700, 1400, 2100]) {
          await sleepUntil(activeSince + at);
          await expectStatus(active, 200, `active session at ${at} ms`);
        }
        await sleepUntil(idleSince + 2200);
        await expectStatus(idle, 401, 'idle for longer than idleTimeout');
        for (const at of [2800, 3500]) {
          await sleepUntil(activeSince + at);
          await expectStatus(active, 200, `active session at ${at} ms`);
        }
        // Sent by hand: the browser may already have dropped it (its Max-Age is only a hint; the gateway decides).
        const lastCookie = active.jar.cookieHeader(stack.publicUrl) ?? '';
        await sleepUntil(activeSince + 4100);
        const late = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: lastCookie } });
        await late.body?.cancel();
        assert.equal(late.status, 401, 'past absoluteTimeout despite activity');
      });
    });

    describe('restarts and key rotation', () => {
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup, { session: { keys: [KEY_A] } });
      });
      after(() => stack.close());

      it('[A] → [B, A] keeps the session and re-seals it under B → [B] keeps it → [C] signs it out, never 5xx', async () => {
        const browser = await stack.signIn('alice');
        const underA = cookieValue(browser);
        assert.ok(underA);
        const [a, b] = await Promise.all([boxesFor([KEY_A], stack), boxesFor([KEY_B], stack)]);

        await stack.restart((tree) => (tree.session.keys = [KEY_B, KEY_A]));
        const rotated = await stack.api(browser);
        assert.equal(rotated.status, 200, 'the old key still opens the session');
        await rotated.body?.cancel();
        assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
        assert.ok(sessionSetCookie(rotated), 'the cookie is re-issued');
        const underB = cookieValue(browser);
        assert.ok(underB && underB !== underA);
        assert.ok(b.session.open(underB), 'the new cookie is sealed under B');
        assert.equal(a.session.open(underB), null, 'and no longer under A');
        if (stack.usesRedis) {
          const raw = await stack.rawRecord(underB);
          assert.ok(raw, 'the record is still there');
          assert.ok(b.record.open(raw), 'the Redis record was re-encrypted under B');
          assert.equal(a.record.open(raw), null, 'and no longer opens under A');
        }
        const settled = await stack.api(browser);
        assert.equal(settled.status, 200);
        await settled.body?.cancel();
        assert.equal(sessionSetCookie(settled), undefined, 'a cookie already under B is not re-sent');

        await stack.restart((tree) => (tree.session.keys = [KEY_B]));
        const onlyB = await stack.api(browser);
        assert.equal(onlyB.status, 200, 'the re-sealed session works without A');
        await onlyB.body?.cancel();
        const stale = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${underA}` } });
        assert.equal(stale.status, 401, 'a cookie under the removed key A is signed out');
        await stale.body?.cancel();

        await stack.restart((tree) => (tree.session.keys = [KEY_C]));
        const unknown = await stack.api(browser);
        assert.equal(unknown.status, 401, 'a session under a removed key is signed out, not a 5xx');
        assert.deepEqual(await unknown.json(), { error: 'unauthenticated' });
        const page = await browser.fetch(`${stack.publicUrl}/reports`);
        assert.equal(page.status, 302);
        assert.ok(page.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));
      });

      it('serves the first request after a restart with the same cookie (no 503 while the store connects)', async () => {
        const browser = await stack.signIn('bob');
        await stack.restart(() => undefined, { immediate: true });
        const first = await stack.api(browser);
        const body = await first.text();
        assert.equal(first.status, 200, `the first request after the restart: ${first.status} ${body}`);
        assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
      });
    });

    describe('back-channel logout from the provider', () => {
      let stack: StoreStack;
      before(async () => {
        stack = await startStoreStack(setup, { backchannelLogout: true });
      });
      after(() => stack.close());

      it('ends every session of the user the provider logged out, and nobody else\'s', async () => {
        const alice = await stack.signIn('alice');
        const aliceElsewhere = await stack.signIn('alice');
        const bob = await stack.signIn('bob');
        const accepted = await stack.metric('authgate_backchannel_logouts_total{outcome="accepted"}');
        // Rejects when the gateway refused a logout token.
        await stack.idp.backchannelLogout('alice');
        assert.equal(await stack.metric('authgate_backchannel_logouts_total{outcome="accepted"}'), accepted + 2, 'one logout token per provider session');

        for (const [browser, which] of [[alice, 'first'], [aliceElsewhere, 'second']] as const) {
          const response = await stack.api(browser);
          assert.equal(response.status, 401, `alice's ${which} session is over`);
          await response.body?.cancel();
          if (setup.shared) assert.equal(await stack.sessionOf(browser), null, 'its record was deleted');
        }
        const page = await alice.fetch(`${stack.publicUrl}/reports`);
        assert.equal(page.status, 302);
        assert.ok(page.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));

        const other = await stack.api(bob);
        assert.equal(other.status, 200, "bob's session is not affected");
        await other.body?.cancel();
        assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
      });
    });
  });
}
