/**
 * A refresh answer that fails validation ends the session (OIDC Core 12.2: a refreshed ID token must name
 * the same iss and sub); an answer that is only an outage (a proxy's 502 page) keeps it and its still-valid
 * token. The provider here is real; its refresh answers are altered the way a misbehaving provider or a
 * proxy in front of it would alter them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { createTestClock } from '../helpers/test-clock.js';

describe('validation of refreshed tokens', () => {
  let stack: Stack;
  const browsers = new Map<string, BrowserClient>();
  // The gateway's clock, moved on to the refresh moment instead of waiting for it.
  const clock = createTestClock();
  before(async () => {
    // Two-second tokens: with the skew capped at half a token's life, a refresh is due after one second.
    stack = await startStack({ idp: { accessTokenTtl: 2 }, configure: (c) => (c.session.refreshSkew = '60s'), now: clock.now });
    for (const name of ['sub', 'iss', 'outage']) browsers.set(name, await stack.signIn('alice'));
    const tokens = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(browsers.get('outage')?.jar.get('authgate')?.value ?? '')?.data
      .tokens as { expiresAt: number; obtainedAt: number };
    clock.advanceTo(tokens.expiresAt - (tokens.expiresAt - tokens.obtainedAt) / 2 + 1);
  });
  after(() => stack.close());

  const api = (browser: BrowserClient | undefined) =>
    (browser as BrowserClient).fetch(`${stack.publicUrl}/data`, { headers: { accept: 'application/json' } });
  const refreshes = async (outcome: string) => {
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    return Number(new RegExp(`authgate_token_refreshes_total\\{outcome="${outcome}",provider="default"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  it('ends the session when the refreshed ID token names another subject', async () => {
    stack.idp.tamperNextRefresh({ sub: 'mallory' });
    const before = await refreshes('invalid_response');
    const response = await api(browsers.get('sub'));
    assert.equal(response.status, 401);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('authgate='));
    assert.ok(cleared && /Max-Age=0/i.test(cleared), 'the session cookie is cleared');
    assert.equal(await refreshes('invalid_response'), before + 1);
    assert.notEqual(stack.upstream.last()?.headers['x-forwarded-user'], 'mallory');
  });

  it('ends the session when the refreshed ID token names another issuer', async () => {
    stack.idp.tamperNextRefresh({ iss: 'https://evil.example' });
    const response = await api(browsers.get('iss'));
    assert.equal(response.status, 401);
  });

  it("keeps the session and its still-valid token when a proxy answers the refresh with a 502 page", async () => {
    const browser = browsers.get('outage');
    const oldToken = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(browser?.jar.get('authgate')?.value ?? '')?.data.tokens as {
      accessToken: string;
    };
    stack.idp.tamperNextRefresh('html-502');
    const before = await refreshes('error');
    const response = await api(browser);
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers.authorization, `Bearer ${oldToken.accessToken}`);
    assert.equal(await refreshes('error'), before + 1);
  });
});
