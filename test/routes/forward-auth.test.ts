/**
 * /oauth2/auth for nginx auth_request, Traefik and Envoy, asked by a trusted proxy: 202 with X-Auth-Request-*
 * for an allowed session, 401 signed out, 403 denied, judged on the original URI the proxy names. What an
 * untrusted peer gets is in forward-auth-fails-closed.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('forward-auth (peer is a trusted proxy)', () => {
  let stack: Stack;
  let alice: BrowserClient;
  let bob: BrowserClient;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.push(
          { name: 'admin', path: '/admin', allow: { groups: ['admins'] }, authRequestAccessToken: true }, // forward-auth only: no url
          { name: 'open', path: '/open', auth: 'public' },
        );
      },
    });
    alice = await stack.signIn('alice');
    bob = await stack.signIn('bob');
  });
  after(() => stack.close());

  const check = (browser: BrowserClient | undefined, uri: string) => {
    const init = { headers: { 'x-forwarded-uri': uri, 'x-forwarded-host': 'app.internal', accept: 'application/json' } };
    return browser ? browser.fetch(`${stack.publicUrl}/oauth2/auth`, init) : fetch(`${stack.publicUrl}/oauth2/auth`, init);
  };

  it('answers 202 with X-Auth-Request-* headers for an allowed session', async () => {
    const response = await check(alice, '/admin/panel');
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('x-auth-request-user'), 'alice');
    assert.equal(response.headers.get('x-auth-request-email'), 'alice@example.com');
    assert.equal(response.headers.get('x-auth-request-preferred-username'), 'alice');
    assert.equal(response.headers.get('x-auth-request-groups'), 'admins,staff');
    assert.ok((response.headers.get('x-auth-request-access-token') ?? '').length > 20);
  });

  it('answers 401 when signed out', async () => {
    const response = await check(undefined, '/admin/panel');
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  it('judges the original URI from X-Forwarded-Uri: bob is denied /admin, public /open passes signed out', async () => {
    const bobAdmin = await check(bob, '/admin/panel');
    const anonymousOpen = await check(undefined, '/open/x');
    assert.equal(bobAdmin.status, 403);
    assert.equal(((await bobAdmin.json()) as { reason: string }).reason, 'not-in-group');
    assert.equal(anonymousOpen.status, 202);
  });

  it('refuses an original URI that would be refused as a request (encoded slash)', async () => {
    const response = await check(alice, '/open/..%2fadmin');
    assert.equal(response.status, 400);
  });
});
