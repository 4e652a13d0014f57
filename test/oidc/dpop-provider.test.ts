/**
 * DPoP at the provider (RFC 9449) with the real test provider: every token endpoint request carries a proof
 * of the gateway's key, the authorization request names it (dpop_jkt), every access token issued is bound to
 * it, userinfo is asked with a proof, a refresh keeps the binding, and nonce challenges are answered. A
 * gateway without DPoP against a client whose tokens must be bound shows a clear failure page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { createTestClock } from '../helpers/test-clock.js';

interface StoredTokens {
  accessToken: string;
  expiresAt: number;
  obtainedAt: number;
  jkt?: string;
}

/** The tokens in a browser's session cookie, as the gateway stored them. */
async function sessionTokens(stack: Stack, browser: BrowserClient): Promise<StoredTokens> {
  const opened = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(browser.jar.get('authgate')?.value ?? '');
  return opened?.data.tokens as StoredTokens;
}

/** The thumbprint of the gateway's current DPoP key, computed by jose from its public JWK. */
async function gatewayJkt(stack: Stack): Promise<string> {
  const keys = stack.gateway.gateway.services.providers.primary.dpopKeys;
  assert.ok(keys, 'the provider has DPoP keys');
  return calculateJwkThumbprint({ ...keys.current.publicJwk });
}

describe('DPoP at the provider', () => {
  let stack: Stack;
  const clock = createTestClock();
  before(async () => {
    // Two-second tokens and a groups claim the ID token lacks: userinfo is asked at every login.
    stack = await startStack({
      idp: { accessTokenTtl: 2, refreshedAccessTokenTtl: 3600 },
      configure: (c) => {
        c.oidc.dpop = true;
        c.oidc.groupsClaim = 'roles';
        c.session.refreshSkew = '60s';
      },
      now: clock.now,
    });
  });
  after(() => stack.close());

  it('binds every token of a login to the gateway key: code grant, dpop_jkt, userinfo', async () => {
    const jkt = await gatewayJkt(stack);
    const alice = await stack.signIn('alice');
    const tokens = await sessionTokens(stack, alice);
    assert.equal(tokens.jkt, jkt, 'the session remembers the binding');
    assert.equal(stack.idp.authorizationRequests.at(-1)?.get('dpop_jkt'), jkt, 'the authorization request names the key');
    const issued = stack.idp.dpop.issuedAccessTokens.filter((t) => t.clientId === TEST_CLIENT_ID);
    assert.ok(issued.length > 0);
    for (const token of issued) assert.equal(token.jkt, jkt, 'every access token issued to the gateway is bound to its key');
    assert.ok(issued.some((t) => t.jti === tokens.accessToken), 'the stored token is one the provider bound');
    const tokenProofs = stack.idp.dpop.proofs.filter((p) => p.path === '/token');
    assert.ok(tokenProofs.length > 0);
    for (const proof of tokenProofs) {
      assert.equal(proof.jkt, jkt);
      assert.equal(proof.htm, 'POST');
      assert.equal(proof.htu, `${stack.idp.issuer}/token`);
    }
    const userinfo = stack.idp.dpop.proofs.filter((p) => p.path === '/me');
    assert.equal(userinfo.length, 1, 'userinfo was asked with a proof');
    assert.equal(userinfo[0]?.status, 200, 'the provider accepted the bound token at userinfo');
    assert.equal(userinfo[0]?.jkt, jkt);
    assert.ok(userinfo[0]?.ath, 'the userinfo proof names the token (ath)');
    const page = await alice.fetch(`${stack.publicUrl}/hello`);
    assert.equal(page.status, 200);
  });

  it('keeps the binding across a refresh (the refresh token is not bound; the new access token is)', async () => {
    const jkt = await gatewayJkt(stack);
    const bob = await stack.signIn('bob');
    const before = await sessionTokens(stack, bob);
    const grants = stack.idp.refreshGrants();
    clock.advanceTo(before.expiresAt - (before.expiresAt - before.obtainedAt) / 2 + 1);
    const page = await bob.fetch(`${stack.publicUrl}/after-refresh`);
    assert.equal(page.status, 200);
    assert.equal(stack.idp.refreshGrants(), grants + 1, 'one refresh grant');
    const after = await sessionTokens(stack, bob);
    assert.notEqual(after.accessToken, before.accessToken);
    assert.equal(after.jkt, jkt);
    const refreshed = stack.idp.dpop.issuedAccessTokens.find((t) => t.jti === after.accessToken);
    assert.equal(refreshed?.jkt, jkt, 'the provider bound the refreshed token to the same key');
    assert.match(refreshed?.gty ?? '', /refresh_token$/);
    clock.reset();
  });

  it('keeps the session and its token when the provider keeps refusing nonces at a refresh', async () => {
    const bob = await stack.signIn('bob');
    const before = await sessionTokens(stack, bob);
    const proofs = stack.idp.dpop.proofs.length;
    stack.idp.dpop.refuseNonces(true);
    try {
      clock.advanceTo(before.expiresAt - (before.expiresAt - before.obtainedAt) / 2 + 1);
      const page = await bob.fetch(`${stack.publicUrl}/refresh-refused`);
      assert.equal(page.status, 200, 'an outage, not the end of the session');
      const refused = stack.idp.dpop.proofs.slice(proofs).filter((p) => p.path === '/token');
      assert.deepEqual(refused.map((p) => p.error), ['use_dpop_nonce', 'use_dpop_nonce'], 'one retry, then it gives up');
      assert.equal(String(stack.upstream.last()?.headers.authorization), `DPoP ${before.accessToken}`);
      assert.equal((await sessionTokens(stack, bob)).accessToken, before.accessToken);
    } finally {
      stack.idp.dpop.refuseNonces(false);
      clock.reset();
    }
  });
});

describe('DPoP nonces', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ idp: { dpop: { requireNonce: true } }, configure: (c) => (c.oidc.dpop = true) });
  });
  after(() => stack.close());

  it('answers a use_dpop_nonce challenge at the token endpoint and signs in', async () => {
    const alice = await stack.signIn('alice');
    const tokens = await sessionTokens(stack, alice);
    assert.ok(tokens.jkt);
    const token = stack.idp.dpop.proofs.filter((p) => p.path === '/token');
    assert.equal(token.length, 2, 'the challenged request and its retry');
    assert.equal(token[0]?.status, 400);
    assert.equal(token[0]?.error, 'use_dpop_nonce');
    assert.equal(token[0]?.nonce, undefined);
    assert.equal(token[1]?.status, 200);
    assert.ok(token[1]?.nonce, 'the retry carries the provider nonce');
  });
});

describe('DPoP refused', () => {
  it('shows a sign-in failure page (not a 500) when the client must bind tokens and the gateway does not', async () => {
    const stack = await startStack({ idp: { dpop: { boundClients: [TEST_CLIENT_ID] } } });
    try {
      const result = await stack.browser().login(`${stack.publicUrl}/`, 'alice');
      assert.equal(result.response?.status, 400);
      assert.match(await (result.response).text(), /refused the sign-in: invalid_grant/);
      assert.equal(stack.idp.tokenRequests.at(-1)?.status, 400);
    } finally {
      await stack.close();
    }
  });

  it('a provider that keeps refusing nonces is an outage: 503 at sign-in', async () => {
    const stack = await startStack({ idp: { dpop: { refuseNonces: true } }, configure: (c) => (c.oidc.dpop = true) });
    try {
      const result = await stack.browser().login(`${stack.publicUrl}/`, 'alice');
      assert.equal(result.response?.status, 503);
      const token = stack.idp.dpop.proofs.filter((p) => p.path === '/token');
      assert.equal(token.length, 2, 'one retry, then it gives up');
      assert.ok(token.every((p) => p.error === 'use_dpop_nonce'));
    } finally {
      await stack.close();
    }
  });
});
