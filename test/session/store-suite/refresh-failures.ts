/**
 * Refresh failures against the store under test: a refused refresh ends the session, an unreachable
 * provider keeps it (and its still-valid token) and is retried after the back-off, and an expired token
 * with the provider down answers 503. The gateway's clock is moved on past the refresh moment, the
 * back-off and the expiry; the provider keeps real time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../../helpers/browser-client.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../helpers/gateway.js';
import { assertCookieCleared, assertCookieKept, cookieValue, JSON_ACCEPT, REFRESH_RETRY_MS, type SessionStoreSetup } from './helpers.js';
import { startStoreStack, type StoreStack } from './stack.js';

/** Refused and failed refreshes, and an expired token while the provider is down. */
export function describeRefreshFailures(setup: SessionStoreSetup): void {
  describe('refresh failures', () => {
    // Tokens live 60 s and are due 30 s before they expire. The three sessions are signed in together and
    // the gateway's clock is moved on once: every test below runs while its token is due but still valid.
    const SKEW_MS = 30_000;
    let stack: StoreStack;
    let refusedApi: BrowserClient;
    let refusedBrowser: BrowserClient;
    let failing: BrowserClient;
    let failingExpiresAt: number;
    before(async () => {
      stack = await startStoreStack(setup, { idp: { accessTokenTtl: 60 }, session: { refreshSkew: '30s' } });
      refusedApi = await stack.signIn('alice');
      refusedBrowser = await stack.signIn('bob');
      failing = await stack.signIn('alice');
      await useRefreshTokenElsewhere(refusedApi);
      await useRefreshTokenElsewhere(refusedBrowser);
      const expiries = await Promise.all([refusedApi, refusedBrowser, failing].map(async (b) => (await stack.sessionOf(b))?.tokens.expiresAt ?? 0));
      failingExpiresAt = expiries[2] ?? 0;
      stack.clock.advanceTo(Math.max(...expiries) - SKEW_MS + 50);
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
      const refused = await stack.metric('authgate_token_refreshes_total{outcome="invalid_grant",provider="default"}');
      const grants = stack.idp.refreshGrants();
      const response = await stack.api(browser);
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: 'unauthenticated' });
      assertCookieCleared(response, 'after invalid_grant');
      assert.equal(stack.idp.refreshGrants() - grants, 1, 'one refresh attempt');
      assert.equal(await stack.metric('authgate_token_refreshes_total{outcome="invalid_grant",provider="default"}'), refused + 1);
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
      assert.ok(stack.clock.now() < failingExpiresAt - 1_000, 'the test starts at least a second before the token expires');
      const old = await stack.sessionOf(browser);
      assert.ok(old);
      const errorSeries = 'authgate_token_refreshes_total{outcome="error",provider="default"}';
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

        stack.clock.advance(REFRESH_RETRY_MS + 50);
        stack.idp.failTokenEndpoint('drop');
        await expectOldToken('provider drops the connection');
        assert.equal(stack.idp.tokenRequests.length - attempts, 2, 'retried after the backoff');
        assert.equal(await stack.metric(errorSeries), errors + 2);
      } finally {
        stack.idp.failTokenEndpoint(null);
      }

      stack.clock.advance(REFRESH_RETRY_MS + 50);
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
    // Tokens expire after 2 s (no clock tolerance at the provider); the gateway's clock is moved past that.
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
        stack.clock.advanceTo(session.tokens.expiresAt + 50);
        const api = await stack.api(browser);
        assert.equal(api.status, 503);
        assert.match(api.headers.get('content-type') ?? '', /^application\/json/);
        const body = (await api.json()) as { error?: unknown; message?: unknown };
        assert.equal(body.error, 'AUTHGATE_ERR_PROVIDER_UNAVAILABLE');
        assert.equal(typeof body.message, 'string');
        assertCookieKept(api, 'API 503');

        stack.clock.advance(REFRESH_RETRY_MS + 50);
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

      stack.clock.advance(REFRESH_RETRY_MS + 50);
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
}
