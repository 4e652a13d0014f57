/**
 * The ID token of a refresh answer is verified like a login's (signature with the provider's JWKS, an
 * asymmetric alg, iss, aud, exp, iat; no nonce, OIDC Core 12.2). One that fails ends the session: the browser
 * is signed out and the upstream never sees the forged identity.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_SECRET, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import type { RefreshTamper } from '../helpers/idp.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { signedIn, waitUntil } from './forged-login.js';

describe('ID tokens of refresh answers', () => {
  let stack: Stack;
  const browsers = new Map<string, BrowserClient>();
  const cases = ['control', 'foreign key', 'HS256', 'unknown kid', 'alg none'] as const;
  before(async () => {
    // Two-second tokens: with the skew capped at half a token's life, a refresh is due after one second.
    stack = await startStack({ idp: { accessTokenTtl: 2, idTokenSigningAlgs: ['HS256', 'RS256'] }, configure: (c) => (c.session.refreshSkew = '60s') });
    for (const name of cases) browsers.set(name, await stack.signIn('alice'));
    const box = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session;
    const dueAt = Math.max(
      ...[...browsers.values()].map((b) => {
        const tokens = box.open(b.jar.get('authgate')?.value ?? '')?.data.tokens as { expiresAt: number; obtainedAt: number };
        return tokens.expiresAt - (tokens.expiresAt - tokens.obtainedAt) / 2;
      }),
    );
    await waitUntil(() => Date.now() > dueAt + 50, 'the sessions to be due for a refresh');
  });
  after(() => stack.close());

  const refreshes = async (outcome: string) => {
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    return Number(new RegExp(`authgate_token_refreshes_total\\{outcome="${outcome}",provider="default"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  const refreshWith = async (name: (typeof cases)[number], tamper: RefreshTamper) => {
    const browser = browsers.get(name) as BrowserClient;
    stack.idp.tamperNextRefresh(tamper);
    const grants = stack.idp.refreshGrants();
    const upstreamBefore = stack.upstream.requests.length;
    const response = await browser.fetch(`${stack.publicUrl}/data`, { headers: { accept: 'application/json' } });
    assert.equal(stack.idp.refreshGrants(), grants + 1, 'the request caused a refresh');
    return { response, browser, reachedUpstream: stack.upstream.requests.length > upstreamBefore };
  };

  const assertEnded = async (name: (typeof cases)[number], tamper: RefreshTamper) => {
    const before = await refreshes('invalid_response');
    const { response, browser, reachedUpstream } = await refreshWith(name, tamper);
    assert.equal(response.status, 401);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('authgate='));
    assert.ok(cleared && /Max-Age=0/i.test(cleared), 'the session cookie is cleared');
    assert.equal(reachedUpstream, false, 'the upstream never got the request');
    assert.equal(await refreshes('invalid_response'), before + 1);
    assert.equal(await signedIn(stack, browser), false);
  };

  it('keeps the session when the provider re-signs the refreshed ID token with its own key (control)', async () => {
    const { response, browser } = await refreshWith('control', {});
    assert.equal(response.status, 200);
    assert.equal(await signedIn(stack, browser), true);
  });

  it('ends the session when the refreshed ID token is signed with a key not in the JWKS', async () => {
    await assertEnded('foreign key', { sign: { key: 'other' }, sub: 'alice' });
  });

  it('ends the session when the refreshed ID token is HS256 with the client secret', async () => {
    await assertEnded('HS256', { sign: { alg: 'HS256', secret: TEST_CLIENT_SECRET } });
  });

  it('ends the session when the refreshed ID token names a kid the JWKS does not have', async () => {
    await assertEnded('unknown kid', { sign: { key: 'other', kid: 'attacker-key' } });
  });

  it('ends the session when the refreshed ID token is unsigned (alg none)', async () => {
    await assertEnded('alg none', { sign: { alg: 'none' } });
  });
});
