/**
 * Two gateway replicas (the real command, two processes, one configuration file) sharing one real
 * redis-server through `session.store: redis`. Both serve the same publicUrl (replica A's address, the one
 * registered at the provider): the browser signs in through A and the same Cookie header is then sent to B,
 * as a load balancer would. Covered: a session made on A works on B; a refresh race across the replicas
 * makes exactly one refresh grant; a sign-out on A kills the cookie on B; a Redis dump leaks no token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { BrowserClient } from '../helpers/browser-client.js';
import {
  baseConfig,
  freePort,
  runCli,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_SESSION_KEY,
  waitForOutput,
  type GatewayProcess,
} from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

const API = { accept: 'application/json' };
const REFRESH_SKEW_MS = 60_000;
/**
 * Two-second access tokens: the gateway caps the skew at half a token's life, so a token is due one second
 * after it was issued; a test waits that second, then every request of a burst finds it due, while a token
 * refreshed during the burst is not due again before the burst is over.
 */
const ACCESS_TOKEN_TTL = 2;

interface StoredTokens {
  accessToken: string;
  obtainedAt: number;
  refreshToken?: string;
  idToken?: string;
  expiresAt?: number;
}

interface Replica {
  name: string;
  url: string;
  proc: GatewayProcess;
}

/** Starts one replica from the shared file; its port comes from the environment (`${AUTHGATE_TEST_PORT}`). */
async function startReplica(name: string, file: string, port: number): Promise<Replica> {
  const proc = runCli(['--config', file], { AUTHGATE_TEST_PORT: String(port) });
  await waitForOutput(
    proc,
    (out) => out.includes('Server listening') && out.includes('provider metadata loaded') && out.includes('session store connected'),
  );
  return { name, url: `http://127.0.0.1:${port}`, proc };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.proc.child.exitCode !== null) return;
  replica.proc.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.proc.child.kill('SIGKILL'), 5_000);
  await replica.proc.exited;
  clearTimeout(timer);
}

/** Every key in Redis with every value it holds, as text (hashes, sets, strings, lists, sorted sets). */
async function dumpRedis(client: Redis): Promise<Array<{ key: string; type: string; values: string[] }>> {
  const dump = [];
  for (const key of (await client.keys('*')).sort()) {
    const type = await client.type(key);
    let values: string[];
    if (type === 'hash') values = Object.entries(await client.hgetall(key)).flat();
    else if (type === 'set') values = await client.smembers(key);
    else if (type === 'string') values = [(await client.get(key)) ?? ''];
    else if (type === 'list') values = await client.lrange(key, 0, -1);
    else if (type === 'zset') values = await client.zrange(key, '0', '-1');
    else values = [`<${type}>`];
    dump.push({ key, type, values });
  }
  return dump;
}

describe('two gateway replicas sharing Redis', () => {
  let redis: StartedRedis;
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let dir: string;
  let client: Redis;
  let recordBox: Awaited<ReturnType<typeof sealBoxesFor>>['record'];
  let sessionBox: Awaited<ReturnType<typeof sealBoxesFor>>['session'];

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const publicUrl = `http://127.0.0.1:${portA}`;
    redis = await startRedis();
    upstream = await startUpstream();
    idp = await startIdp({
      clients: [
        {
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          redirectUris: [`${publicUrl}/oauth2/callback`],
          postLogoutRedirectUris: [`${publicUrl}/`],
        },
      ],
      accessTokenTtl: ACCESS_TOKEN_TTL,
    });
    const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: portA });
    tree.server.listen = '127.0.0.1:${AUTHGATE_TEST_PORT}';
    tree.session.store = 'redis';
    tree.session.redis = { url: redis.url };
    tree.session.refreshSkew = `${REFRESH_SKEW_MS / 1000}s`;
    dir = mkdtempSync(join(tmpdir(), 'authgate-replicas-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(tree));
    [a, b] = await Promise.all([startReplica('A', file, portA), startReplica('B', file, portB)]);
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    ({ record: recordBox, session: sessionBox } = await sealBoxesFor([TEST_SESSION_KEY], tree));
  });

  after(async () => {
    client?.disconnect();
    await Promise.all([stopReplica(a), stopReplica(b)]);
    await Promise.all([idp?.close(), upstream?.close(), redis?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Signs `login` in through replica A, stopping right after the callback (no request has refreshed yet). */
  async function signInOnA(login: string): Promise<{ browser: BrowserClient; cookie: string }> {
    assert.ok(a);
    const browser = new BrowserClient();
    const { callbackUrl } = await browser.login(`${a.url}/whoami`, login, { stopAtCallback: true });
    const callback = await browser.fetch(callbackUrl);
    await callback.body?.cancel();
    assert.equal(callback.status, 302, 'the callback on A signs in');
    const value = browser.jar.get('authgate')?.value;
    assert.ok(value, 'A set the session cookie');
    return { browser, cookie: `authgate=${value}` };
  }

  /** The session id and sealed record the cookie names, read straight from Redis. */
  async function recordOf(cookie: string): Promise<{ id: string; tokens: StoredTokens }> {
    const id = sessionBox.open(cookie.slice('authgate='.length))?.data.rid;
    assert.equal(typeof id, 'string');
    const sealed = await client.hget(`authgate:{${String(id)}}:s`, 'data');
    assert.ok(sealed, 'the record exists in Redis');
    const data = recordBox.open(sealed)?.data as { tokens: StoredTokens } | undefined;
    assert.ok(data, 'the record opens with the session keys');
    return { id: String(id), tokens: data.tokens };
  }

  /** Waits (a timer, about a second) until the session's access token is within the refresh skew. */
  async function waitUntilDue(cookie: string): Promise<StoredTokens> {
    const { tokens } = await recordOf(cookie);
    assert.ok(tokens.expiresAt, 'the provider said when the access token expires');
    const skew = Math.min(REFRESH_SKEW_MS, (tokens.expiresAt - tokens.obtainedAt) / 2);
    await sleep(Math.max(0, tokens.expiresAt - skew - Date.now() + 50));
    return tokens;
  }

  it('a session created on A works on B: the identity reaches the upstream through B', async () => {
    assert.ok(a && b);
    const { cookie } = await signInOnA('alice');
    const before = upstream.requests.length;
    const response = await fetch(`${b.url}/through-b`, { headers: { ...API, cookie } });
    assert.equal(response.status, 200, await response.text());
    const seen = upstream.requests.slice(before).find((r) => r.url === '/through-b');
    assert.ok(seen, 'B proxied the request');
    assert.equal(seen.headers['x-forwarded-user'], 'alice');
    assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal(seen.headers['x-forwarded-groups'], 'admins,staff');
    assert.match(String(seen.headers.authorization), /^Bearer \S+$/);
  });

  it('refresh race across replicas: 20 concurrent requests alternating A and B make exactly one refresh grant', async () => {
    assert.ok(a && b);
    const { cookie } = await signInOnA('bob');
    const loginTokens = await waitUntilDue(cookie);
    // Open keep-alive connections to both replicas first, so the 20 requests reach them together.
    await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${(i % 2 === 0 ? a : b)?.url}/ping`).then((r) => r.text())));

    const grantsBefore = idp.refreshGrants();
    const tokenRequestsBefore = idp.tokenRequests.length;
    const upstreamBefore = upstream.requests.length;
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const replica = i % 2 === 0 ? a : b;
        const response = await fetch(`${replica?.url}/race/${i}`, { headers: { ...API, cookie } });
        return { replica: replica?.name, status: response.status, body: await response.text() };
      }),
    );
    const ms = Math.round(performance.now() - started);
    const newTokenRequests = idp.tokenRequests.slice(tokenRequestsBefore);
    const grants = idp.refreshGrants() - grantsBefore;
    const bearers = new Set(upstream.requests.slice(upstreamBefore).map((r) => String(r.headers.authorization)));
    console.log(
      `refresh race across 2 replicas: ${grants} refresh grant(s) for 20 concurrent requests ` +
        `(statuses ${responses.map((r) => `${r.replica}:${r.status}`).join(' ')}); ${bearers.size} distinct bearer token(s) upstream; ${ms} ms`,
    );
    assert.deepEqual(
      responses.filter((r) => r.status !== 200),
      [],
      'every request answers 200',
    );
    assert.equal(grants, 1, `exactly one refresh grant at the provider: ${JSON.stringify(newTokenRequests)}`);
    assert.ok(newTokenRequests.every((r) => r.status === 200), 'the provider accepted it');
    assert.equal(bearers.size, 1, 'all 20 requests went upstream with the one refreshed token');
    assert.notEqual([...bearers][0], `Bearer ${loginTokens.accessToken}`, 'the token forwarded is the refreshed one');
  });

  it('sign-out on A ends the session on B too (the same cookie gets 401)', async () => {
    assert.ok(a && b);
    const { cookie } = await signInOnA('alice');
    const onB = await fetch(`${b.url}/before-sign-out`, { headers: { ...API, cookie } });
    assert.equal(onB.status, 200);

    const signOut = await fetch(`${a.url}/oauth2/sign_out`, { headers: { cookie }, redirect: 'manual' });
    await signOut.body?.cancel();
    assert.equal(signOut.status, 302);

    const afterOnB = await fetch(`${b.url}/after-sign-out`, { headers: { ...API, cookie } });
    assert.equal(afterOnB.status, 401, await afterOnB.text());
    const afterOnA = await fetch(`${a.url}/after-sign-out`, { headers: { ...API, cookie } });
    assert.equal(afterOnA.status, 401);
  });

  it('a Redis dump holds no token, no email, and no key derived from the cookie value', async () => {
    assert.ok(a && b);
    await client.flushall();
    const { cookie } = await signInOnA('alice');
    const atLogin = await recordOf(cookie);
    const dumpAtLogin = await dumpRedis(client);

    // Once the token is due, a request through B refreshes and forwards the new access token.
    await waitUntilDue(cookie);
    const grants = idp.refreshGrants();
    const response = await fetch(`${b.url}/bearer`, { headers: { ...API, cookie } });
    assert.equal(response.status, 200);
    const bearer = String(upstream.last()?.headers.authorization ?? '').replace(/^Bearer /, '');
    const refreshed = await recordOf(cookie);
    assert.equal(idp.refreshGrants(), grants + 1, 'the request refreshed');
    assert.equal(refreshed.tokens.accessToken, bearer, 'the upstream got the access token the record holds');
    assert.notEqual(refreshed.tokens.refreshToken, atLogin.tokens.refreshToken, 'the provider rotated the refresh token');
    const dumpAfterRefresh = await dumpRedis(client);

    const secrets = new Map<string, string>();
    for (const [when, tokens] of [['login', atLogin.tokens], ['refresh', refreshed.tokens]] as const) {
      secrets.set(`${when} access token`, tokens.accessToken);
      if (tokens.refreshToken) secrets.set(`${when} refresh token`, tokens.refreshToken);
      if (tokens.idToken) {
        secrets.set(`${when} ID token`, tokens.idToken);
        secrets.set(`${when} ID token payload`, tokens.idToken.split('.')[1] ?? '');
      }
    }
    assert.ok(secrets.has('login refresh token') && secrets.has('login ID token'), 'the session holds a refresh token and an ID token');
    secrets.set('email', 'alice@example.com');
    secrets.set('cookie value', cookie.slice('authgate='.length));

    for (const dump of [dumpAtLogin, dumpAfterRefresh]) {
      assert.ok(dump.some((entry) => entry.key === `authgate:{${atLogin.id}}:s`), 'the dump holds the session record');
      const text = dump.map((entry) => [entry.key, ...entry.values].join('\n')).join('\n');
      for (const [what, secret] of secrets) assert.ok(secret.length > 0 && !text.includes(secret), `the Redis dump contains the ${what}`);
    }
    console.log(`redis dump: ${dumpAfterRefresh.map((entry) => `${entry.key.replace(atLogin.id, '<id>')} (${entry.type})`).join(', ')}`);
  });
});
