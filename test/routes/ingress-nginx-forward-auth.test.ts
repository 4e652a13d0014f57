/**
 * The ingress-nginx recipe of docs/forward-auth.md, end to end: the annotations and paths are read from the
 * document, rendered into the configuration the controller generates (test/helpers/ingress-nginx.ts), and
 * run by real nginx in front of a recording app, with authgate and the test provider behind it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startIngressNginxStack, type IngressNginxStack } from '../helpers/ingress-nginx.js';
import { nginxAvailable } from '../helpers/nginx-process.js';
import { rawGet } from '../helpers/raw-http.js';
import type { RecordedRequest } from '../helpers/upstream.js';

/** The upstream's echo of the request it received. */
async function echoed(response: Response): Promise<RecordedRequest> {
  assert.equal(response.status, 200);
  return (await response.json()) as RecordedRequest;
}

const skip = nginxAvailable() ? false : 'nginx with http_auth_request_module is not installed (apt-get install nginx)';

describe('ingress-nginx auth-url / auth-signin recipe, with real nginx in the controller\'s shape', { skip }, () => {
  let stack: IngressNginxStack;
  let alice: BrowserClient;
  let bob: BrowserClient;
  before(async () => {
    stack = await startIngressNginxStack([
      { name: 'app', path: '/' },
      { name: 'admin', path: '/admin', allow: { groups: ['admins'] } },
      { name: 'public', path: '/public', auth: 'public' },
    ]);
  });
  after(() => stack?.close());

  it('reads the annotations from docs/forward-auth.md', () => {
    const a = stack.recipe.annotations;
    assert.match(a['auth-url'] ?? '', /^http:\/\/authgate\.[\w-]+\.svc\.cluster\.local:4180\/oauth2\/auth$/);
    assert.equal(a['auth-signin'], 'https://$host/oauth2/start?rd=$escaped_request_uri');
    assert.deepEqual(
      (a['auth-response-headers'] ?? '').split(','),
      ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', 'X-Auth-Request-Preferred-Username'],
    );
    assert.ok(stack.recipe.authgatePaths.every((p) => p.pathType === 'Exact' && !p.path.startsWith('/oauth2/auth')), 'only authgate\'s pages, by exact name');
  });

  it('redirects a signed-out browser to sign-in with the original URL, and the app sees nothing', async () => {
    const seen = stack.upstream.requests.length;
    const first = await new BrowserClient().fetch(`${stack.nginx.url}/reports?x=1`);
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), `${stack.nginx.url}/oauth2/start?rd=/reports?x=1`);
    await first.body?.cancel();
    assert.equal(stack.upstream.requests.length, seen);
  });

  it('signs in through the controller and lands on the original URL, the app receiving X-Auth-Request-*', async () => {
    const browser = new BrowserClient();
    const result = await browser.login(`${stack.nginx.url}/reports?x=1`, 'alice');
    assert.ok(result.callbackUrl.startsWith(`${stack.nginx.url}/oauth2/callback?`), result.callbackUrl);
    assert.ok(result.response);
    const echo = await echoed(result.response);
    assert.equal(echo.url, '/reports?x=1');
    assert.equal(echo.headers['x-auth-request-user'], 'alice');
    assert.equal(echo.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(echo.headers['x-auth-request-groups'], 'admins,staff');
    assert.equal(echo.headers['x-auth-request-preferred-username'], 'alice');
    alice = browser;
  });

  it('replaces a client\'s forged X-Auth-Request-* (the controller\'s proxy_set_header, not authgate)', async () => {
    const forged = { 'x-auth-request-user': 'mallory', 'x-auth-request-email': 'm@evil.example', 'x-auth-request-groups': 'admins' };
    const signedIn = await echoed(await alice.fetch(`${stack.nginx.url}/reports`, { headers: forged }));
    assert.equal(signedIn.headers['x-auth-request-user'], 'alice');
    assert.equal(signedIn.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(signedIn.headers['x-auth-request-groups'], 'admins,staff');
    // A public route: authgate sends no identity, so the listed names are set empty, i.e. removed.
    const open = await echoed(await fetch(`${stack.nginx.url}/public/page`, { headers: forged }));
    assert.equal(open.headers['x-auth-request-user'], undefined);
    assert.equal(open.headers['x-auth-request-groups'], undefined);
    // A name not in auth-response-headers is not the controller's to replace: it reaches the app as sent.
    const unlisted = await echoed(await alice.fetch(`${stack.nginx.url}/reports`, { headers: { 'x-auth-request-access-token': 'forged' } }));
    assert.equal(unlisted.headers['x-auth-request-access-token'], 'forged');
  });

  it('denies bob /admin with 403, and a client\'s X-Forwarded-Uri cannot turn it into a public path', async () => {
    bob = new BrowserClient();
    const signedIn = await bob.login(`${stack.nginx.url}/`, 'bob');
    await signedIn.response?.body?.cancel();
    const seen = stack.upstream.requests.length;
    const spoofs: Array<Record<string, string>> = [{}, { 'x-forwarded-uri': '/public/page' }, { 'x-forwarded-uri': '/public/page', 'x-forwarded-host': '127.0.0.1' }];
    for (const spoof of spoofs) {
      const denied = await bob.fetch(`${stack.nginx.url}/admin/panel`, { headers: spoof });
      assert.equal(denied.status, 403, JSON.stringify(spoof));
      await denied.body?.cancel();
      const anonymous = await fetch(`${stack.nginx.url}/admin/panel`, { headers: spoof, redirect: 'manual' });
      assert.equal(anonymous.status, 302, JSON.stringify(spoof));
      await anonymous.body?.cancel();
    }
    assert.equal(stack.upstream.requests.length, seen, 'no denied request reached the app');
    assert.equal((await echoed(await alice.fetch(`${stack.nginx.url}/admin/panel`))).headers['x-auth-request-user'], 'alice');
  });

  it('sends a signed-out API call to sign-in as well (ingress-nginx has no browser/API split)', async () => {
    const api = await fetch(`${stack.nginx.url}/reports`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    assert.equal(api.status, 302);
    await api.body?.cancel();
  });

  it('never lets a client read a check\'s answer: no spelling of /oauth2/auth reaches authgate', async () => {
    const cookie = alice.jar.cookieHeader(`${stack.nginx.url}/`) ?? '';
    const spellings = [
      '/oauth2/auth',
      '/oauth2/auth/reports',
      '/oauth2/auth/../start',
      '/oauth2/auth/%2e%2e/start',
      '/oauth2/%61uth/x',
      '/oauth2//auth/x',
      '/oauth2/./auth/x',
      '/oauth2/start/../auth/x',
      '/_external-auth-Lw-Prefix',
    ];
    for (const target of spellings) {
      const answer = await rawGet(stack.nginx.url, target, { cookie, accept: 'application/json' });
      const fromAuthgate = Object.keys(answer.headers).filter((h) => h.startsWith('x-auth-request-'));
      assert.deepEqual(fromAuthgate, [], `${target} (${answer.status}) answered with ${fromAuthgate.join(', ')}`);
      assert.ok(answer.status !== 202, `${target} reached the check: ${answer.status}`);
    }
  });
});
