/**
 * Sign-in through the gateway against the store under test: the identity and token reach the upstream,
 * userinfo answers, and the cookie holds what the store keeps there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionData } from '../../../src/session/types.js';
import { boxesFor, cookieValue, JSON_ACCEPT, KEY_A, type SessionStoreSetup } from './helpers.js';
import { startStoreStack, type StoreStack } from './stack.js';

/** Sign-in, proxying and userinfo. */
export function describeSignIn(setup: SessionStoreSetup): void {
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
      assert.deepEqual(await response.json(), { user: 'bob', email: 'bob@example.org', preferredUsername: 'bob', groups: ['staff'], provider: 'default' });
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
}
