/**
 * Token refresh against the store under test: a due token is refreshed once, also under concurrency and
 * across replicas. The gateway's clock is moved on to make a token due; the provider keeps real time.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SessionData } from '../../../src/session/types.js';
import type { BrowserClient } from '../../helpers/browser-client.js';
import { JSON_ACCEPT, type SessionStoreSetup } from './helpers.js';
import { startStoreStack, type StoreStack } from './stack.js';

/** Refreshing due tokens with rotating refresh tokens. */
export function describeRefresh(setup: SessionStoreSetup): void {
  describe('token refresh (rotating refresh tokens)', () => {
    // Tokens from sign-in live 2 s and are due 1 s before they expire (half their life, so a skew capped at
    // half the token's lifetime gives the same moment); the gateway's clock is moved on to that moment.
    // Refreshed tokens live a minute, so they are not due on that clock.
    const SKEW_MS = 1_000;
    let stack: StoreStack;
    before(async () => {
      stack = await startStoreStack(setup, { idp: { accessTokenTtl: 2, refreshedAccessTokenTtl: 60 }, session: { refreshSkew: '1s' } });
    });
    after(() => stack.close());
    // Each test signs in on real time: on a clock an earlier test moved on, a sign-in's token is due at once.
    beforeEach(() => stack.clock.reset());

    /** Moves the gateway's clock on until the browser's access token is due; the session before its refresh. */
    async function makeDue(browser: BrowserClient): Promise<SessionData> {
      const session = await stack.sessionOf(browser);
      assert.ok(session?.tokens.expiresAt, 'the session knows when its access token expires');
      assert.ok(session.tokens.refreshToken, 'the provider issued a refresh token');
      stack.clock.advanceTo(session.tokens.expiresAt - SKEW_MS + 50);
      return session;
    }

    it('refreshes a due token once, sends the new token upstream and keeps the session', async () => {
      const browser = await stack.signIn('alice');
      const grants = stack.idp.refreshGrants();
      const early = await stack.api(browser);
      assert.equal(early.status, 200);
      await early.body?.cancel();
      assert.equal(stack.idp.refreshGrants(), grants, 'no refresh while the token is not due');

      const old = await makeDue(browser);
      const successes = await stack.metric('authgate_token_refreshes_total{outcome="success",provider="default"}');
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
      assert.equal(await stack.metric('authgate_token_refreshes_total{outcome="success",provider="default"}'), successes + 1);

      const next = await stack.api(browser);
      assert.equal(next.status, 200);
      await next.body?.cancel();
      assert.equal(stack.idp.refreshGrants() - grants, 1, 'the fresh token is not due: no second grant');
      assert.equal(stack.upstream.last()?.headers.authorization, sent);
    });

    it('20 concurrent requests with a due token make exactly one refresh grant and all get the new token', async () => {
      const browser = await stack.signIn('bob');
      const old = await makeDue(browser);
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
          const old = await makeDue(browser);
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
}
