/**
 * A login transaction is used once, even by a client that keeps the transaction cookie the callback
 * clears: the same callback URL with the same cookie, replayed after the real callback or all at once,
 * makes exactly one token endpoint request; every replay gets a 400 page and no session. With the Redis
 * store the claim is shared, so a replay at another replica is refused too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, startGateway, startStack, type Stack, type StartedGateway } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';

const REPLAYS = 5;

/** One login stopped at the callback: its URL and the Cookie header the browser would send with it. */
async function capturedCallback(stack: Stack): Promise<{ path: string; cookie: string }> {
  const browser = new BrowserClient();
  const { callbackUrl } = await browser.login(`${stack.publicUrl}/landing`, 'alice', { stopAtCallback: true });
  const url = new URL(callbackUrl);
  const cookie = browser.jar.cookieHeader(url) ?? '';
  assert.match(cookie, /authgate_tx_/, 'the browser holds the transaction cookie');
  return { path: url.pathname + url.search, cookie };
}

/** The callback as a browser navigation with exactly this Cookie header (what a replaying client sends). */
async function callback(base: string, captured: { path: string; cookie: string }) {
  const response = await fetch(base + captured.path, { headers: { accept: 'text/html', cookie: captured.cookie }, redirect: 'manual' });
  const body = await response.text();
  const sessionSet = response.headers.getSetCookie().some((c) => /^authgate=[^;]/.test(c));
  return { status: response.status, body, sessionSet, type: response.headers.get('content-type') ?? '' };
}

function assertRefused(replay: Awaited<ReturnType<typeof callback>>): void {
  assert.equal(replay.status, 400);
  assert.match(replay.type, /text\/html/);
  assert.match(replay.body, /expired or was already used/);
  assert.equal(replay.sessionSet, false, 'a replay never sets a session cookie');
}

for (const store of ['cookie', 'redis'] as const) {
  describe(`a callback transaction is used once (${store} store)`, () => {
    let stack: Stack;
    let redis: StartedRedis | undefined;
    before(async () => {
      if (store === 'redis') redis = await startRedis();
      stack = await startStack({
        configure: (tree) => {
          if (!redis) return;
          tree.session.store = 'redis';
          tree.session.redis = { url: redis.url };
        },
      });
    });
    after(async () => {
      await stack.close();
      await redis?.close();
    });

    it(`refuses ${REPLAYS} replays after the real callback, with one token request in all`, async () => {
      const captured = await capturedCallback(stack);
      const tokenCalls = stack.idp.tokenRequests.length;
      const real = await callback(stack.publicUrl, captured);
      assert.equal(real.status, 302, 'the real callback signs in');
      assert.equal(real.sessionSet, true);
      for (let i = 0; i < REPLAYS; i++) assertRefused(await callback(stack.publicUrl, captured));
      assert.equal(stack.idp.tokenRequests.length - tokenCalls, 1, 'exactly one token endpoint request');
    });

    it(`lets exactly one of ${REPLAYS + 1} concurrent callbacks through`, async () => {
      const captured = await capturedCallback(stack);
      const tokenCalls = stack.idp.tokenRequests.length;
      const results = await Promise.all(Array.from({ length: REPLAYS + 1 }, () => callback(stack.publicUrl, captured)));
      const signedIn = results.filter((r) => r.status === 302);
      assert.equal(signedIn.length, 1, `statuses: ${results.map((r) => r.status).join(', ')}`);
      for (const replay of results.filter((r) => r.status !== 302)) assertRefused(replay);
      assert.equal(stack.idp.tokenRequests.length - tokenCalls, 1, 'exactly one token endpoint request');
    });

    if (store === 'redis') {
      describe('with a second replica sharing Redis', () => {
        let replica: StartedGateway;
        before(async () => {
          // Another replica: same configuration (publicUrl, client, keys, Redis), its own port.
          const port = await freePort();
          const tree = baseConfig({ publicUrl: stack.publicUrl, issuer: stack.idp.issuer, upstreamUrl: stack.upstream.url, listenPort: port });
          tree.session.store = 'redis';
          tree.session.redis = { url: (redis as StartedRedis).url };
          replica = await startGateway(tree, { port });
        });
        after(() => replica.close());

        it('refuses the replay at the other replica', async () => {
          const captured = await capturedCallback(stack);
          const tokenCalls = stack.idp.tokenRequests.length;
          assert.equal((await callback(stack.publicUrl, captured)).status, 302, 'the real callback signs in at the first replica');
          for (let i = 0; i < REPLAYS; i++) assertRefused(await callback(replica.url, captured));
          assert.equal(stack.idp.tokenRequests.length - tokenCalls, 1, 'exactly one token endpoint request');
        });
      });
    }
  });
}
