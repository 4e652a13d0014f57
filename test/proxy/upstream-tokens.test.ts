/**
 * `upstreams[].accessToken` resource and scopes: an upstream's own token by a refresh grant with
 * `resource=` (RFC 8707) and `scope=`, from the real test provider (which rotates refresh tokens), as the
 * upstream received it; asked for at login; fetched once for concurrent requests, cached, rotation-safe
 * with the session's own refresh, dropped at sign-out; a refusal is that upstream's 502, an outage its 503.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { createTestClock } from '../helpers/test-clock.js';

const API = { accept: 'application/json' };
const ORDERS = 'https://orders.internal/';
const BILLING = 'https://billing.internal/';

describe('upstreams[].accessToken: resource and scopes (refresh grants)', () => {
  let stack: Stack;
  let tree: ConfigTree | undefined;
  const clock = createTestClock();
  before(async () => {
    stack = await startStack({
      now: clock.now,
      idp: { resourceScopes: ['orders:read', 'orders:write', 'orders:admin'] },
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.oidc.scopes = [...(c.oidc.scopes ?? []), 'api', 'orders:read', 'orders:write'];
        c.upstreams.push({ name: 'orders', path: '/orders', url, accessToken: { resource: ORDERS, scopes: ['orders:read'] } });
        c.upstreams.push({ name: 'billing', path: '/billing', url, accessToken: { resource: BILLING, header: 'X-Forwarded-Access-Token' } });
        c.upstreams.push({ name: 'narrow', path: '/narrow', url, accessToken: { scopes: ['openid', 'email'] } });
        c.upstreams.push({ name: 'admin', path: '/admin', url, accessToken: { resource: ORDERS, scopes: ['orders:admin'] } });
        tree = structuredClone(c);
      },
    });
  });
  after(() => stack.close());

  const grants = (resource?: string) => stack.idp.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.resource === resource);
  async function seen(browser: BrowserClient, path: string, headers: Record<string, string> = API) {
    const response = await browser.fetch(`${stack.publicUrl}${path}`, { headers });
    const body = (await response.json()) as { headers?: Record<string, string> };
    return { status: response.status, body, headers: body.headers ?? {} };
  }
  const bearer = (headers: Record<string, string>) => headers.authorization?.replace(/^Bearer /, '') ?? '';

  it('asks for each resource of a refresh-grant upstream at login', async () => {
    await stack.signIn('alice');
    const ask = stack.idp.authorizationRequests.at(-1);
    assert.deepEqual(ask?.getAll('resource'), [ORDERS, BILLING]);
  });

  it('sends the upstream a token for its resource and scopes, asked once and then cached', async () => {
    const alice = await stack.signIn('alice');
    const session = bearer((await seen(alice, '/x')).headers);
    const before = grants(ORDERS).length;
    const first = await seen(alice, '/orders/a');
    assert.equal(first.status, 200);
    const token = bearer(first.headers);
    assert.notEqual(token, session);
    const claims = decodeJwt(token);
    assert.equal(claims.aud, ORDERS);
    assert.equal(claims.scope, 'orders:read');
    assert.equal(claims.sub, 'alice');
    const asked = grants(ORDERS).slice(before);
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.scope, 'orders:read');
    assert.equal(asked[0]?.status, 200);
    // Cached: the next request asks nothing.
    const second = await seen(alice, '/orders/b');
    assert.equal(bearer(second.headers), token);
    assert.equal(grants(ORDERS).length, before + 1);
    // The default route still gets the session's own token.
    assert.equal(bearer((await seen(alice, '/y')).headers), session);
  });

  it('fetches one token for many concurrent requests', async () => {
    const bob = await stack.signIn('bob');
    const before = grants(ORDERS).length;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => seen(bob, `/orders/${i}`)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(new Set(answers.map((a) => bearer(a.headers))).size, 1);
    assert.equal(grants(ORDERS).length - before, 1);
  });

  it('stays rotation-safe: a second upstream token and the session refresh work after a resource grant', async () => {
    const alice = await stack.signIn('alice');
    assert.equal((await seen(alice, '/orders/1')).status, 200);
    const billing = await seen(alice, '/billing/1', { ...API, 'x-forwarded-access-token': 'forged', authorization: 'Basic YTpi' });
    assert.equal(billing.status, 200);
    const raw = billing.headers['x-forwarded-access-token'] ?? '';
    assert.equal(decodeJwt(raw).aud, BILLING);
    assert.deepEqual(String(decodeJwt(raw).scope).split(' ').sort(), ['api', 'orders:read', 'orders:write']);
    assert.equal(billing.headers.authorization, 'Basic YTpi'); // the client's own passes through on such a route
    // The session's own refresh with the refresh token the grants left it with.
    const refreshesBefore = grants(undefined).length;
    clock.advance(3_560_000); // within the skew of the token's expiry, inside the idle timeout
    const after = await seen(alice, '/z');
    clock.reset();
    assert.equal(after.status, 200);
    const refreshes = grants(undefined).slice(refreshesBefore);
    assert.deepEqual(refreshes.map((r) => r.status), [200]);
    assert.equal((await seen(alice, '/orders/2')).status, 200);
    assert.ok(!stack.idp.tokenRequests.some((r) => r.status === 400 && r.grantType === 'refresh_token' && r.scope === undefined));
  });

  it('down-scopes the session token by scopes alone', async () => {
    const alice = await stack.signIn('alice');
    const session = bearer((await seen(alice, '/x')).headers);
    const narrow = await seen(alice, '/narrow/a');
    assert.equal(narrow.status, 200);
    assert.notEqual(bearer(narrow.headers), session);
    const asked = stack.idp.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.scope === 'openid email');
    assert.equal(asked.at(-1)?.status, 200);
  });

  it('drops the token at sign-out: the next session gets a new grant', async () => {
    const alice = await stack.signIn('alice');
    const old = bearer((await seen(alice, '/orders/a')).headers);
    const before = grants(ORDERS).length;
    const out = await alice.fetch(`${stack.publicUrl}/oauth2/sign_out`, { method: 'POST' });
    assert.ok(out.status < 400);
    const again = await stack.signIn('alice');
    const fresh = bearer((await seen(again, '/orders/b')).headers);
    assert.notEqual(fresh, old);
    assert.equal(grants(ORDERS).length, before + 1);
  });

  it('answers 502 on that upstream when the provider refuses, keeping the session and the other upstreams', async () => {
    const alice = await stack.signIn('alice');
    // orders:admin was never granted: the provider refuses with invalid_scope.
    const refused = await alice.fetch(`${stack.publicUrl}/admin/x`, { headers: API });
    assert.equal(refused.status, 502);
    assert.equal(((await refused.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE');
    const page = await alice.fetch(`${stack.publicUrl}/admin/x`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 502);
    assert.match(await page.text(), /still signed in/);
    assert.equal((await seen(alice, '/orders/x')).status, 200);
    assert.equal((await alice.fetch(`${stack.publicUrl}/oauth2/userinfo`)).status, 200);
    // invalid_grant on a resource grant is that upstream's refusal too, not the end of the session.
    stack.idp.upstreamTokens.refusals.push({ resource: BILLING, error: 'invalid_grant' });
    try {
      assert.equal((await alice.fetch(`${stack.publicUrl}/billing/x`, { headers: API })).status, 502);
      // Answered as refused for a while, without asking the provider again.
      const asked = grants(BILLING).length;
      assert.equal((await alice.fetch(`${stack.publicUrl}/billing/x2`, { headers: API })).status, 502);
      assert.equal(grants(BILLING).length, asked);
    } finally {
      stack.idp.upstreamTokens.refusals.length = 0;
    }
    assert.equal((await alice.fetch(`${stack.publicUrl}/oauth2/userinfo`)).status, 200);
    clock.advance(31_000);
    const later = await seen(alice, '/billing/y');
    clock.reset();
    assert.equal(later.status, 200);
    const refusedLines = stack.gateway.logEntries().filter((e) => e.msg === 'upstream token refused by the provider' && e.upstream === 'billing');
    assert.equal(refusedLines.length, 1, 'one line for the refusal, not one per request');
    const lines = stack.gateway.logEntries().filter((e) => e.msg === 'upstream token refused by the provider');
    assert.ok(lines.some((e) => e.upstream === 'admin' && e.oauthError === 'invalid_scope'));
    assert.ok(lines.some((e) => e.upstream === 'billing' && e.oauthError === 'invalid_grant'));
  });

  it('answers 503 on that upstream when the provider cannot be reached', async () => {
    const bob = await stack.signIn('bob');
    stack.idp.failTokenEndpoint('http-503');
    try {
      const answer = await bob.fetch(`${stack.publicUrl}/billing/x`, { headers: API });
      assert.equal(answer.status, 503);
      assert.equal(((await answer.json()) as { error: string }).error, 'AUTHGATE_ERR_PROVIDER_UNAVAILABLE');
      assert.equal((await seen(bob, '/x')).status, 200);
    } finally {
      stack.idp.failTokenEndpoint(null);
    }
    clock.advance(6_000);
    const later = await seen(bob, '/billing/y');
    clock.reset();
    assert.equal(later.status, 200);
  });

  it('never logs a token', () => {
    const text = stack.gateway.logs.join('\n');
    for (const request of stack.upstream.requests) {
      for (const value of [request.headers.authorization, request.headers['x-forwarded-access-token']]) {
        if (typeof value === 'string' && value.length > 20) assert.ok(!text.includes(value.replace(/^Bearer /, '')));
      }
    }
  });

  it('asks nothing for a resource the login did not ask for (added by a reload): 502, and the session lives on', async () => {
    const alice = await stack.signIn('alice');
    const late = 'https://late.internal/';
    const next = structuredClone(tree!);
    next.upstreams.push({ name: 'late', path: '/late', url: next.upstreams[0]?.url, accessToken: { resource: late } });
    stack.gateway.gateway.reload(parseConfigText(stringify(next), 'reloaded', {}));
    try {
      const refused = await alice.fetch(`${stack.publicUrl}/late/x`, { headers: API });
      assert.equal(refused.status, 502);
      assert.equal(grants(late).length, 0, 'the provider was not asked (it may use up the refresh token before refusing)');
      // The session's own refresh still works: its refresh token was never spent on a refused resource.
      const refreshes = grants(undefined).length;
      clock.advance(3_560_000);
      const after = await seen(alice, '/z');
      clock.reset();
      assert.equal(after.status, 200);
      assert.deepEqual(grants(undefined).slice(refreshes).map((r) => r.status), [200]);
      // A new login asks for the new resource, and then gets its token.
      const again = await stack.signIn('alice');
      assert.ok(stack.idp.authorizationRequests.at(-1)?.getAll('resource').includes(late));
      assert.equal(decodeJwt(bearer((await seen(again, '/late/y')).headers)).aud, late);
    } finally {
      stack.gateway.gateway.reload(parseConfigText(stringify(tree), 'restored', {}));
    }
  });
});
