/**
 * `upstreams[].skipAuthPreflight`: a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method;
 * browsers send it without cookies) reaches the app without a session, and carries no identity even when a
 * session cookie comes with it. Nothing else passes that way: another OPTIONS, or the same preflight on a
 * route without the flag, is judged as usual.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

const PREFLIGHT = { origin: 'https://spa.example.net', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' };

describe('upstreams[].skipAuthPreflight', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push({ name: 'api', path: '/api', url: c.upstreams[0]?.url, skipAuthPreflight: true, allow: { groups: ['admins'] } });
      },
    });
  });
  after(() => stack.close());

  it('lets a preflight through to the app without a session, with no identity headers', async () => {
    const before = stack.upstream.requests.length;
    const response = await fetch(`${stack.publicUrl}/api/orders/7`, { method: 'OPTIONS', headers: PREFLIGHT });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.requests.length, before + 1);
    const seen = stack.upstream.last();
    assert.equal(seen?.method, 'OPTIONS');
    assert.equal(seen?.headers['access-control-request-method'], 'PUT');
    assert.equal(seen?.headers['x-forwarded-user'], undefined);
  });

  it('sends no identity or token with a preflight even when a session cookie comes along', async () => {
    const bob = await stack.signIn('bob', '/');
    const response = await bob.fetch(`${stack.publicUrl}/api/orders/7`, { method: 'OPTIONS', headers: PREFLIGHT });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last()?.headers ?? {};
    for (const name of ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'authorization']) assert.equal(seen[name], undefined, name);
    // bob is not an admin: the same route refuses his real request.
    assert.equal((await bob.fetch(`${stack.publicUrl}/api/orders/7`, { method: 'PUT', headers: { accept: 'application/json' } })).status, 403);
  });

  it('judges an OPTIONS that is not a preflight, and a preflight elsewhere, as usual (401, nothing proxied)', async () => {
    const before = stack.upstream.requests.length;
    const partial: Record<string, string>[] = [{ origin: PREFLIGHT.origin }, { 'access-control-request-method': 'PUT' }, {}];
    for (const headers of partial) {
      const response = await fetch(`${stack.publicUrl}/api/orders/7`, { method: 'OPTIONS', headers: { accept: 'application/json', ...headers } });
      assert.equal(response.status, 401, JSON.stringify(headers));
    }
    const elsewhere = await fetch(`${stack.publicUrl}/app/x`, { method: 'OPTIONS', headers: { accept: 'application/json', ...PREFLIGHT } });
    assert.equal(elsewhere.status, 401);
    assert.equal(stack.upstream.requests.length, before);
  });
});

describe('upstreams[].skipAuthPreflight through forward-auth', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1'];
        c.upstreams.push({ name: 'api', path: '/api', skipAuthPreflight: true, allow: { groups: ['admins'] } });
      },
    });
  });
  after(() => stack.close());

  const ask = (headers: Record<string, string>) => fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { accept: 'application/json', 'x-forwarded-uri': '/api/orders', ...headers } });

  it('answers 202 without identity headers for a preflight the proxy reports (Traefik and ingress-nginx spellings)', async () => {
    const spellings: Record<string, string>[] = [{ 'x-forwarded-method': 'OPTIONS' }, { 'x-original-method': 'options' }];
    for (const method of spellings) {
      const response = await ask({ ...method, origin: PREFLIGHT.origin, 'access-control-request-method': 'PUT' });
      assert.equal(response.status, 202, JSON.stringify(method));
      assert.equal(response.headers.get('x-auth-request-user'), null);
    }
  });

  it('answers 401 for anything else: another method, no Origin, a route without the flag', async () => {
    assert.equal((await ask({ 'x-forwarded-method': 'GET', origin: PREFLIGHT.origin, 'access-control-request-method': 'PUT' })).status, 401);
    assert.equal((await ask({ 'x-forwarded-method': 'OPTIONS', 'access-control-request-method': 'PUT' })).status, 401);
    const elsewhere = await fetch(`${stack.publicUrl}/oauth2/auth`, {
      headers: { accept: 'application/json', 'x-forwarded-uri': '/other', 'x-forwarded-method': 'OPTIONS', origin: PREFLIGHT.origin, 'access-control-request-method': 'PUT' },
    });
    assert.equal(elsewhere.status, 401);
  });
});
