/**
 * Upstreams' own tokens with `oidc.dpop: true`: the resource grant and the token exchange carry the gateway's
 * DPoP proof, so the provider binds the upstream's token to the gateway's key (its `cnf.jkt`, as the
 * upstream decodes it), and the upstream receives it as `Authorization: DPoP` with a proof made for that
 * token (`ath` of the upstream's token, not of the session's) and that request.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { TOKEN_EXCHANGE } from '../helpers/idp-upstream-tokens.js';

const API = { accept: 'application/json' };
const ORDERS = 'https://orders.internal/';

describe('upstream tokens with DPoP', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      idp: { resourceScopes: ['orders:read'] },
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.oidc.dpop = true;
        c.oidc.scopes = [...(c.oidc.scopes ?? []), 'api', 'orders:read'];
        c.upstreams.push({ name: 'orders', path: '/orders', url, stripPrefix: true, accessToken: { resource: ORDERS, scopes: ['orders:read'] } });
        c.upstreams.push({ name: 'ledger', path: '/ledger', url, accessToken: { audience: 'ledger-api', scopes: ['api'] } });
      },
    });
  });
  after(() => stack.close());

  async function seen(browser: BrowserClient, path: string) {
    const response = await browser.fetch(`${stack.publicUrl}${path}`, { headers: API });
    const body = (await response.json()) as { url?: string; method?: string; headers?: Record<string, string> };
    return { status: response.status, url: body.url ?? '', headers: body.headers ?? {} };
  }

  /** What an upstream checks (RFC 9449 §7): the proof's signature and key, its htm/htu, ath of this token, and the token's cnf.jkt. */
  async function checkAsUpstream(headers: Record<string, string>, path: string): Promise<{ token: string; jkt: string }> {
    const [scheme, token = ''] = (headers.authorization ?? '').split(' ');
    assert.equal(scheme, 'DPoP');
    const { payload, protectedHeader } = await jwtVerify(headers.dpop ?? '', EmbeddedJWK, { typ: 'dpop+jwt' });
    const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK);
    assert.equal(payload.htm, 'GET');
    assert.equal(payload.htu, `${stack.upstream.url}${path}`);
    assert.equal(payload.ath, createHash('sha256').update(token).digest('base64url'), 'ath is the hash of the token this upstream received');
    assert.equal((decodeJwt(token).cnf as { jkt?: string } | undefined)?.jkt, jkt, 'the token is bound to the key that signed the proof');
    return { token, jkt };
  }

  it('binds a resource token to the gateway key and proves it to its upstream', async () => {
    const alice = await stack.signIn('alice');
    const session = await seen(alice, '/x');
    assert.match(session.headers.authorization ?? '', /^DPoP /);
    const sessionToken = session.headers.authorization?.split(' ')[1];

    const orders = await seen(alice, '/orders/list');
    assert.equal(orders.status, 200);
    assert.equal(orders.url, '/list');
    const { token, jkt } = await checkAsUpstream(orders.headers, '/list');
    assert.notEqual(token, sessionToken);
    assert.equal(decodeJwt(token).aud, ORDERS);
    // The provider's side: the grant carried a proof by that key, and it recorded the binding.
    const grant = stack.idp.dpop.proofs.filter((p) => p.path === '/token').at(-1);
    assert.equal(grant?.jkt, jkt);
    assert.ok(stack.idp.dpop.issuedAccessTokens.some((t) => t.jkt === jkt && t.format === 'jwt'));
    // A second request: a fresh proof for the cached token.
    const again = await seen(alice, '/orders/list');
    assert.equal((await checkAsUpstream(again.headers, '/list')).token, token);
    assert.notEqual(decodeJwt(again.headers.dpop ?? '').jti, decodeJwt(orders.headers.dpop ?? '').jti);
  });

  it('binds an exchanged token the same way', async () => {
    const bob = await stack.signIn('bob');
    const ledger = await seen(bob, '/ledger/entries');
    assert.equal(ledger.status, 200);
    const { token, jkt } = await checkAsUpstream(ledger.headers, '/ledger/entries');
    assert.equal(decodeJwt(token).aud, 'ledger-api');
    const exchange = stack.idp.tokenRequests.filter((r) => r.grantType === TOKEN_EXCHANGE).at(-1);
    assert.equal(exchange?.status, 200);
    assert.equal(exchange?.audience, 'ledger-api');
    assert.ok(stack.idp.dpop.issuedAccessTokens.some((t) => t.jkt === jkt && t.gty === 'token-exchange'));
  });
});
