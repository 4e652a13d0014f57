/**
 * DPoP from the attacker's side: a DPoP-bound access token is worthless without its key (RFC 9449), so one
 * that leaks (an upstream that logs its Authorization header, a compromised upstream) must not be usable
 * at the gateway as a plain Bearer token, whether the gateway reads it by introspection (the opaque session
 * tokens of the test provider) or as a JWT carrying cnf.jkt. The DPoP scheme itself is not taken from
 * clients, whatever proof comes with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../helpers/gateway.js';
import { startStack } from '../helpers/gateway.js';
import { API, forge } from '../routes/bearer-fixtures.js';

describe('a leaked DPoP-bound token presented to the gateway', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.oidc.dpop = true;
        c.api = { acceptBearerTokens: true, introspectOpaqueTokens: true, audiences: [API] };
        c.upstreams.unshift({ name: 'leaky', path: '/leaky', url: c.upstreams[0]?.url });
      },
    });
  });
  after(() => stack.close());

  it('a session token the gateway bound to its DPoP key is refused as a Bearer token', async () => {
    const alice = await stack.signIn('alice');
    // What the "leaky" upstream received, as it would log it.
    const answer = await alice.fetch(`${stack.publicUrl}/leaky/x`, { headers: { accept: 'application/json' } });
    const received = ((await answer.json()) as { headers: Record<string, string> }).headers;
    assert.match(received.authorization ?? '', /^DPoP /);
    const token = (received.authorization ?? '').slice('DPoP '.length);
    assert.ok(stack.idp.dpop.issuedAccessTokens.some((t) => t.jkt !== undefined), 'the provider bound the token');

    const seen = stack.upstream.requests.length;
    for (const authorization of [`Bearer ${token}`, `bearer ${token}`, `DPoP ${token}`]) {
      const replay = await fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', authorization, dpop: received.dpop ?? '' } });
      assert.equal(replay.status, 401, authorization.split(' ')[0]);
    }
    assert.equal(stack.upstream.requests.length, seen, 'the stolen token reached no upstream');
  });

  it('a JWT access token bound by cnf.jkt is refused as a Bearer token, the unbound one accepted', async () => {
    const unbound = await fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', authorization: `Bearer ${await forge(stack)}` } });
    assert.equal(unbound.status, 200, 'bearer tokens are accepted at all');
    const seen = stack.upstream.requests.length;
    const bound = await forge(stack, { cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } });
    const replay = await fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', authorization: `Bearer ${bound}` } });
    assert.equal(replay.status, 401);
    assert.deepEqual(await replay.json(), { error: 'invalid_token' });
    assert.equal(stack.upstream.requests.length, seen);
  });
});
