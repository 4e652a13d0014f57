/**
 * Forward-auth's opt-in sign-in redirect (`/oauth2/auth?redirect=1`, and `X-Authgate-Redirect: 1` on the
 * Envoy form `/oauth2/auth/*`): a signed-out browser navigation, as a trusted proxy reports it (Traefik's
 * X-Forwarded-Method/-Proto/-Host/-Uri, the client's Accept), gets 302 to publicUrl's sign-in with the
 * original URL as `rd` when that URL is on publicUrl's origin, else `rd=/`. Everything else keeps its answer.
 * The requests are the ones Traefik ForwardAuth and Envoy ext_authz send (neither runs in this suite).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import type { RecordedRequest } from '../helpers/upstream.js';

/** What a raw request got back. */
interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** A request with exactly these headers from a chosen local address: 127.0.0.1 is trusted here, 127.0.0.2 is not. */
function rawCheck(base: string, target: string, headers: Record<string, string>, options: { from?: string; method?: string } = {}): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: target, method: options.method ?? 'GET', headers, agent: false, localAddress: options.from ?? '127.0.0.1' },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('forward-auth ?redirect=1: a signed-out browser navigation goes to sign-in', () => {
  let stack: Stack;
  let host: string;
  let startPrefix: string;
  let bob: BrowserClient;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.push({ name: 'admin', path: '/admin', allow: { groups: ['admins'] } });
      },
    });
    host = new URL(stack.publicUrl).host;
    startPrefix = `${stack.publicUrl}/oauth2/start?rd=`;
    bob = await stack.signIn('bob');
  });
  after(() => stack.close());

  /** What Traefik ForwardAuth sends for a browser's GET of `uri` on publicUrl's host, plus `extra`. */
  const traefik = (uri: string, extra: Record<string, string> = {}) => ({
    'x-forwarded-method': 'GET',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': host,
    'x-forwarded-uri': uri,
    'x-forwarded-for': '203.0.113.7',
    accept: HTML,
    ...extra,
  });
  const rdOf = (answer: RawAnswer) => {
    const location = String(answer.headers.location);
    assert.ok(location.startsWith(startPrefix), `Location ${location} is not publicUrl's sign-in`);
    return new URLSearchParams(location.slice(location.indexOf('?'))).get('rd');
  };

  it('302 to <publicUrl>/oauth2/start?rd=<original URL>, and the sign-in lands back on that URL', async () => {
    const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports/q3?x=1&y=a%20b'));
    assert.equal(answer.status, 302);
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.equal(rdOf(answer), '/reports/q3?x=1&y=a%20b');

    // The browser follows the Location through the real provider and lands on the original URL (all of it).
    const browser = stack.browser();
    const login = await browser.login(String(answer.headers.location), 'alice');
    assert.equal(login.response?.status, 200);
    const echo = (await login.response.json()) as RecordedRequest;
    assert.equal(echo.url, '/reports/q3?x=1&y=a%20b');
  });

  it('accepts redirect=true as well; redirect=0, false, yes or nothing keep the 401', async () => {
    assert.equal((await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=true', traefik('/r'))).status, 302);
    for (const query of ['', '?redirect=0', '?redirect=false', '?redirect=yes', '?redirect=', '?redirect=1x']) {
      const answer = await rawCheck(stack.publicUrl, `/oauth2/auth${query}`, traefik('/r'));
      assert.equal(answer.status, 401, `/oauth2/auth${query}`);
      assert.match(String(answer.headers['www-authenticate']), /^Bearer realm="authgate"/);
    }
  });

  it('non-navigations keep the 401: JSON or */* Accept, XHR, POST, PUT, no Accept', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['Accept: application/json', { accept: 'application/json' }],
      ['Accept: */*', { accept: '*/*' }],
      ['XHR', { accept: 'application/json, text/plain, */*', 'x-requested-with': 'XMLHttpRequest' }],
      ['POST with Accept: text/html', { 'x-forwarded-method': 'POST' }],
      ['PUT', { 'x-forwarded-method': 'PUT' }],
      ['no Accept', { accept: '' }],
    ];
    for (const [what, extra] of cases) {
      const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', extra));
      assert.equal(answer.status, 401, what);
      assert.equal(answer.headers.location, undefined, what);
    }
    // HEAD is a navigation, like GET.
    assert.equal((await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', { 'x-forwarded-method': 'head' }))).status, 302);
  });

  it('signed in but denied stays 403; signed in and allowed stays 202', async () => {
    const cookie = bob.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    const denied = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/admin/panel', { cookie }));
    assert.equal(denied.status, 403);
    const allowed = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', { cookie }));
    assert.equal(allowed.status, 202);
    assert.equal(allowed.headers['x-auth-request-user'], 'bob');
  });

  it('never an open redirect: another host, scheme or port, or a disagreeing X-Original-URL, sends to rd=/', async () => {
    const [hostName, port] = host.split(':');
    const offOrigin: Array<[string, Record<string, string>]> = [
      ['another host', { 'x-forwarded-host': 'evil.example' }],
      ['another host, upper case', { 'x-forwarded-host': 'EVIL.example' }],
      ['publicUrl host as a subdomain of evil', { 'x-forwarded-host': `${hostName}.evil.example:${port}` }],
      ['another port', { 'x-forwarded-host': `${hostName}:${Number(port) + 1}` }],
      ['no port (80)', { 'x-forwarded-host': hostName }],
      ['another scheme', { 'x-forwarded-proto': 'https' }],
      ['a scheme that is no scheme', { 'x-forwarded-proto': 'javascript' }],
      ['X-Original-URL on another host', { 'x-original-url': 'http://evil.example/reports' }],
      ['X-Original-URL with another scheme', { 'x-original-url': `https://${host}/reports` }],
      ['X-Original-URL disagreeing on the path', { 'x-original-url': '/other' }],
      ['X-Original-URL with publicUrl as userinfo', { 'x-original-url': `http://${host}@evil.example/reports?x=1` }],
    ];
    for (const [what, extra] of offOrigin) {
      const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports?x=1', extra));
      assert.equal(answer.status, 302, what);
      assert.equal(rdOf(answer), '/', what);
    }
    // The same host spelt another way is the same origin.
    const dotted = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', { 'x-forwarded-host': `${hostName.toUpperCase()}.:${port}` }));
    assert.equal(rdOf(dotted), '/reports');
    const agreeing = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', { 'x-original-url': `${stack.publicUrl}/reports` }));
    assert.equal(rdOf(agreeing), '/reports');
  });

  it('never an open redirect: //, backslashes, encoded slashes, CR/LF, userinfo and absolute URIs in the original', async () => {
    const onOrigin = ['//evil.example/x', '///evil.example', '/.//evil.example', '/%2e%2e//evil.example', '/x?next=//evil.example', '/@evil.example'];
    for (const uri of onOrigin) {
      const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik(uri));
      assert.equal(answer.status, 302, uri);
      const rd = rdOf(answer) ?? '';
      assert.ok(rd.startsWith('/') && !rd.startsWith('//') && !rd.includes('\\'), `${uri} -> rd ${rd}`);
      assert.equal(new URL(rd, stack.publicUrl).origin, new URL(stack.publicUrl).origin, `${uri} -> rd ${rd}`);
    }
    const refused: Array<[string, Record<string, string>]> = [
      ['raw backslash', { 'x-forwarded-uri': '/\\evil.example' }],
      ['encoded backslash', { 'x-forwarded-uri': '/%5Cevil.example' }],
      ['encoded slashes', { 'x-forwarded-uri': '/%2F%2Fevil.example' }],
      ['encoded CR/LF', { 'x-forwarded-uri': '/x%0D%0ALocation:%20http://evil.example' }],
      ['absolute URI', { 'x-forwarded-uri': 'http://evil.example/' }],
      ['userinfo in the host', { 'x-forwarded-host': `${host}@evil.example` }],
    ];
    for (const [what, extra] of refused) {
      const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports', extra));
      assert.equal(answer.status, 400, what);
      assert.equal(answer.headers.location, undefined, what);
    }
  });

  it('an untrusted peer gets 403 unknown-original-request, never a redirect', async () => {
    const answer = await rawCheck(stack.publicUrl, '/oauth2/auth?redirect=1', traefik('/reports'), { from: '127.0.0.2' });
    assert.equal(answer.status, 403);
    assert.equal(answer.headers.location, undefined);
    const envoy = await rawCheck(stack.publicUrl, '/oauth2/auth/reports', { host, accept: HTML, 'x-authgate-redirect': '1' }, { from: '127.0.0.2' });
    assert.equal(envoy.status, 403);
    assert.equal(envoy.headers.location, undefined);
  });

  it('the Envoy form /oauth2/auth/* redirects when the proxy sends X-Authgate-Redirect: 1, with the original method', async () => {
    const envoy = (headers: Record<string, string>, method = 'GET', target = '/oauth2/auth/reports?x=1&y=2') =>
      rawCheck(stack.publicUrl, target, { host, accept: HTML, ...headers }, { method });
    const redirected = await envoy({ 'x-authgate-redirect': '1' });
    assert.equal(redirected.status, 302);
    assert.equal(rdOf(redirected), '/reports?x=1&y=2');
    assert.equal((await envoy({ 'x-authgate-redirect': 'true' })).status, 302);
    assert.equal(rdOf(await envoy({ 'x-authgate-redirect': '1', host: 'evil.example' })), '/');
    // Without the header: 401. The query belongs to the original request: ?redirect=1 there is not authgate's.
    assert.equal((await envoy({})).status, 401);
    assert.equal((await envoy({}, 'GET', '/oauth2/auth/reports?redirect=1')).status, 401);
    assert.equal((await envoy({ 'x-authgate-redirect': '1' }, 'POST')).status, 401);
    assert.equal((await envoy({ 'x-authgate-redirect': '1', accept: 'application/json' })).status, 401);
    const cookie = bob.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    assert.equal((await envoy({ 'x-authgate-redirect': '1', cookie }, 'GET', '/oauth2/auth/admin/x')).status, 403);
  });
});
