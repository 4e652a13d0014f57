/**
 * Upstreams' own tokens with `session.store: redis` and two gateways (two instances, each with its own
 * caches and locks, as two replicas) on one real redis-server: one resource grant for a burst spread over
 * both, the token shared through Redis, the rotated refresh token seen by the other replica, the session
 * refresh still working after it, and the tokens deleted with the session at sign-out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { Redis } from 'ioredis';
import { freePort, startGateway, startStack, type ConfigTree, type Stack, type StartedGateway } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { createTestClock } from '../helpers/test-clock.js';

const API = { accept: 'application/json' };
const ORDERS = 'https://orders.internal/';
const BILLING = 'https://billing.internal/';

describe('upstream tokens on two replicas sharing Redis', () => {
  let redis: StartedRedis;
  let client: Redis;
  let stack: Stack;
  let b: StartedGateway;
  let tree: ConfigTree | undefined;
  const clock = createTestClock();
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    stack = await startStack({
      now: clock.now,
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.session = { ...c.session, store: 'redis', redis: { url: redis.url } };
        c.upstreams.push({ name: 'orders', path: '/orders', url, accessToken: { resource: ORDERS } });
        c.upstreams.push({ name: 'billing', path: '/billing', url, accessToken: { resource: BILLING } });
        tree = structuredClone(c);
      },
    });
    const port = await freePort();
    b = await startGateway({ ...tree!, server: { ...tree!.server, listen: `127.0.0.1:${port}` } }, { port, now: clock.now });
  });
  after(async () => {
    await b?.close();
    await stack?.close();
    client?.disconnect();
    await redis?.close();
  });

  const grants = (resource: string | undefined) => stack.idp.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.resource === resource);
  async function tokenAt(origin: string, browser: Awaited<ReturnType<Stack['signIn']>>, path: string) {
    const response = await browser.fetch(`${origin}${path}`, { headers: API });
    const body = (await response.json()) as { headers?: Record<string, string> };
    return { status: response.status, token: body.headers?.authorization?.replace(/^Bearer /, '') ?? '' };
  }

  it('makes one grant for a burst over both replicas and shares the token', async () => {
    const alice = await stack.signIn('alice');
    const before = grants(ORDERS).length;
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => tokenAt(i % 2 === 0 ? stack.publicUrl : b.url, alice, `/orders/${i}`)),
    );
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.token)).size, 1);
    assert.equal(decodeJwt(answers[0]?.token ?? '').aud, ORDERS);
    assert.equal(grants(ORDERS).length - before, 1);
    // The sealed token is in Redis, next to the session record: no token in clear text.
    const keys = await client.keys('authgate:{*}:t');
    assert.equal(keys.length, 1);
    const stored = Object.values(await client.hgetall(keys[0] ?? ''));
    assert.ok(stored.length === 1 && !stored[0]?.includes(answers[0]?.token ?? '-'));
  });

  it('uses the refresh token one replica rotated on the other, and the session refresh still works', async () => {
    const alice = await stack.signIn('alice');
    assert.equal((await tokenAt(stack.publicUrl, alice, '/orders/a')).status, 200); // rotates on A
    const billing = await tokenAt(b.url, alice, '/billing/a'); // B must use the rotated one
    assert.equal(billing.status, 200);
    assert.equal(decodeJwt(billing.token).aud, BILLING);
    const refreshes = grants(undefined).length;
    clock.advance(3_560_000);
    const refreshed = await tokenAt(b.url, alice, '/x');
    clock.reset();
    assert.equal(refreshed.status, 200);
    assert.deepEqual(grants(undefined).slice(refreshes).map((r) => r.status), [200]);
    assert.ok(!stack.idp.tokenRequests.some((r) => r.grantType === 'refresh_token' && r.status !== 200));
  });

  it('deletes the tokens with the session at sign-out', async () => {
    await client.flushall();
    const bob = await stack.signIn('bob');
    assert.equal((await tokenAt(b.url, bob, '/orders/a')).status, 200);
    assert.equal((await client.keys('authgate:{*}:t')).length, 1);
    await bob.fetch(`${stack.publicUrl}/oauth2/sign_out`, { method: 'POST' });
    assert.deepEqual(await client.keys('authgate:{*}:t'), []);
    const again = await stack.signIn('bob');
    const before = grants(ORDERS).length;
    assert.equal((await tokenAt(b.url, again, '/orders/b')).status, 200);
    assert.equal(grants(ORDERS).length, before + 1);
  });
});
