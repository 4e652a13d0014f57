/**
 * What the upstream receives: identity headers set only by the gateway (every spoofed copy removed, on
 * every route, whatever its case or underscores), the bearer token, the gateway's cookies removed and the
 * app's own cookies passed through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

const SPOOFED = {
  'X-Forwarded-User': 'mallory',
  'X-Forwarded-Email': 'mallory@evil.example',
  'X-Forwarded-Groups': 'admins',
  'X-Forwarded-Preferred-Username': 'mallory',
  'X-Forwarded-Access-Token': 'forged-token',
  'X-Auth-Request-User': 'mallory',
  'X-Auth-Request-Email': 'mallory@evil.example',
  'X-Auth-Request-Groups': 'admins',
  'x_forwarded_user': 'mallory',
  'X_Forwarded_Email': 'mallory@evil.example',
  'x-forwarded_groups': 'admins',
  'X_AUTH_REQUEST_USER': 'mallory',
};

function assertNoSpoofedValue(headers: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(headers)) {
    const text = String(value);
    assert.ok(!/mallory|forged-token/.test(text), `header ${name} carries a spoofed value: ${text}`);
  }
  for (const name of Object.keys(headers)) {
    assert.ok(!name.includes('_'), `underscore header ${name} reached the upstream`);
    assert.ok(!name.startsWith('x-auth-request-'), `${name} reached the upstream`);
  }
}

describe('identity headers and cookies at the upstream', () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams.unshift(
          { name: 'public', path: '/public', url: c.upstreams[0].url, auth: 'public' },
          { name: 'optional', path: '/maybe', url: c.upstreams[0].url, auth: 'optional' },
          { name: 'no-token', path: '/no-token', url: c.upstreams[0].url, forwardAccessToken: false },
        );
      },
    });
    alice = await stack.signIn('alice');
  });
  after(() => stack.close());

  it('replaces spoofed identity headers with the real identity on a protected route', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/x`, { headers: { ...SPOOFED, accept: 'application/json' } });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last()?.headers ?? {};
    assertNoSpoofedValue(seen);
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-groups'], 'admins,staff');
    assert.match(String(seen.authorization), /^Bearer /);
    assert.notEqual(seen.authorization, 'Bearer forged-token');
  });

  it('strips spoofed identity headers on a public route too, and adds none', async () => {
    const response = await fetch(`${stack.publicUrl}/public/page`, { headers: SPOOFED });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last()?.headers ?? {};
    assertNoSpoofedValue(seen);
    assert.equal(seen['x-forwarded-user'], undefined);
    assert.equal(seen['x-forwarded-email'], undefined);
  });

  it('public routes get no identity even for a signed-in user, and pass the client Authorization through', async () => {
    await alice.fetch(`${stack.publicUrl}/public/page`, { headers: { authorization: 'Bearer client-own' } });
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-user'], undefined);
    assert.equal(seen.authorization, 'Bearer client-own');
  });

  it('optional routes get identity headers when signed in and none (but still stripped) when not', async () => {
    await alice.fetch(`${stack.publicUrl}/maybe/x`, { headers: { accept: 'application/json' } });
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    const anonymous = await fetch(`${stack.publicUrl}/maybe/x`, { headers: SPOOFED });
    assert.equal(anonymous.status, 200);
    const seen = stack.upstream.last()?.headers ?? {};
    assertNoSpoofedValue(seen);
    assert.equal(seen['x-forwarded-user'], undefined);
  });

  it('forwardAccessToken: false sends identity but not the token, and keeps the client Authorization', async () => {
    await alice.fetch(`${stack.publicUrl}/no-token/x`, { headers: { accept: 'application/json', authorization: 'Basic YTpi' } });
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen.authorization, 'Basic YTpi');
  });

  it("removes the gateway's own cookies and passes the app's cookies verbatim", async () => {
    const response = await alice.fetch(`${stack.publicUrl}/x`, {
      headers: { accept: 'application/json', cookie: 'app_pref=dark; JSESSIONID=abc123; authgate_tx_forged=zzz' },
    });
    assert.equal(response.status, 200);
    const cookie = String(stack.upstream.last()?.headers.cookie ?? '');
    assert.match(cookie, /app_pref=dark/);
    assert.match(cookie, /JSESSIONID=abc123/);
    assert.doesNotMatch(cookie, /(^|; )authgate[=_]/, `gateway cookie reached the upstream: ${cookie}`);
  });

  it('sends X-Forwarded-For/Proto/Host from what the gateway knows, not from the client', async () => {
    await alice.fetch(`${stack.publicUrl}/x`, {
      headers: { accept: 'application/json', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], new URL(stack.publicUrl).host);
    assert.equal(seen['x-forwarded-proto'], 'http');
  });
});
