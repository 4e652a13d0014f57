/**
 * Forward-auth end to end through a real nginx: the auth_request recipe of docs/forward-auth.md in front
 * of a recording upstream, with the gateway behind nginx (publicUrl is nginx's URL). Covers sign-in through
 * nginx, the identity headers nginx passes on, 403s, public routes, the browser/API split of the 401, spoofed
 * original-URI headers, session cookies renewed by the auth subrequest, and sign-out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import type { IdpOptions } from '../helpers/idp.js';
import { ingressNginxStyleServer, nginxAvailable, startNginxForwardAuthStack, type NginxForwardAuthStack } from '../helpers/nginx.js';
import { createTestClock } from '../helpers/test-clock.js';
import type { RecordedRequest } from '../helpers/upstream.js';

/** The documented recipe plus the ingress-nginx style server (extraUrls[0]). */
type NginxStack = NginxForwardAuthStack;

async function startNginxStack(idpOptions: Partial<IdpOptions> = {}, now?: () => number): Promise<NginxStack> {
  return startNginxForwardAuthStack({
    idp: idpOptions,
    now,
    upstreams: [
      // The app's own token goes to the app (through the recipe's Authorization line) only with this option.
      { name: 'app', path: '/', authRequestAccessToken: true },
      { name: 'admin', path: '/admin', allow: { groups: ['admins'] } },
      { name: 'public', path: '/public', auth: 'public' },
    ],
    extraServers: { count: 1, config: ([port]) => ingressNginxStyleServer(port) },
  });
}

/** The upstream's echo of the request it received. */
async function echoed(response: Response): Promise<RecordedRequest> {
  assert.equal(response.status, 200);
  return (await response.json()) as RecordedRequest;
}

/** Signs a new browser in through nginx, starting at `path`; returns it and the response it landed on. */
async function signIn(stack: NginxStack, login: string, path = '/'): Promise<{ browser: BrowserClient; landed: Response; callbackUrl: string }> {
  const browser = new BrowserClient();
  const result = await browser.login(`${stack.nginx.url}${path}`, login);
  if (!result.response) throw new Error(`sign-in as ${login} stopped early`);
  return { browser, landed: result.response, callbackUrl: result.callbackUrl };
}

const skip = nginxAvailable() ? false : 'nginx with http_auth_request_module is not installed (apt-get install nginx)';

describe('nginx auth_request in front of an app, authgate behind nginx', { skip }, () => {
  let stack: NginxStack;
  let alice: BrowserClient;
  let bob: BrowserClient;
  before(async () => {
    stack = await startNginxStack();
  });
  after(() => stack?.close());

  it('sends a signed-out browser navigation to the provider, with nginx\'s callback URL', async () => {
    const browser = new BrowserClient();
    const first = await browser.fetch(`${stack.nginx.url}/reports?x=1`);
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), '/oauth2/start?rd=/reports?x=1');
    await first.body?.cancel();

    const { response, visited } = await browser.follow(`${stack.nginx.url}/reports?x=1`);
    await response.body?.cancel();
    const atProvider = visited.find((url) => url.startsWith(`${stack.idp.issuer}/auth?`));
    assert.ok(atProvider, `never reached the provider: ${visited.join(' -> ')}`);
    assert.equal(new URL(atProvider).searchParams.get('redirect_uri'), `${stack.nginx.url}/oauth2/callback`);
    assert.equal(stack.upstream.requests.length, 0, 'nothing reached the app');
  });

  it('signs in through nginx and lands on the original URL, served by the app with the identity headers', async () => {
    const seen = stack.upstream.requests.length;
    const signedIn = await signIn(stack, 'alice', '/reports?x=1');
    alice = signedIn.browser;
    assert.ok(signedIn.callbackUrl.startsWith(`${stack.nginx.url}/oauth2/callback?`), signedIn.callbackUrl);
    const echo = await echoed(signedIn.landed);
    assert.equal(echo.url, '/reports?x=1');
    assert.equal(echo.headers['x-forwarded-user'], 'alice');
    assert.equal(echo.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal(echo.headers['x-forwarded-groups'], 'admins,staff');
    assert.equal(echo.headers['x-forwarded-preferred-username'], 'alice');
    assert.match(String(echo.headers.authorization), /^Bearer \S{20,}$/);
    assert.equal(stack.upstream.requests.length, seen + 1, 'the app saw only the final, allowed request');
    // The auth subrequest's answer stays between nginx and authgate.
    assert.equal(echo.headers['x-auth-request-access-token'], undefined);
  });

  it('passes a signed-in POST and its body to the app (the auth subrequest is a bodiless GET)', async () => {
    const echo = await echoed(
      await alice.fetch(`${stack.nginx.url}/reports/save`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'title=Q3&rows=42',
      }),
    );
    assert.equal(echo.method, 'POST');
    assert.equal(echo.headers['x-forwarded-user'], 'alice');
    assert.equal(stack.upstream.last()?.body, 'title=Q3&rows=42');
  });

  it('denies bob /admin with 403 through nginx while alice gets in', async () => {
    bob = (await signIn(stack, 'bob', '/')).browser;
    const seen = stack.upstream.requests.length;
    const denied = await bob.fetch(`${stack.nginx.url}/admin/panel`);
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
    assert.equal(stack.upstream.requests.length, seen, 'the denied request never reached the app');

    const allowed = await echoed(await alice.fetch(`${stack.nginx.url}/admin/panel`));
    assert.equal(allowed.url, '/admin/panel');
    assert.equal(allowed.headers['x-forwarded-user'], 'alice');
  });

  it('serves a public route signed out, without identity headers even when the client sends its own', async () => {
    const response = await fetch(`${stack.nginx.url}/public/page`, {
      headers: { 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'admins', 'x-forwarded-email': 'm@evil.example', accept: 'text/html' },
    });
    const echo = await echoed(response);
    assert.equal(echo.url, '/public/page');
    assert.equal(echo.headers['x-forwarded-user'], undefined);
    assert.equal(echo.headers['x-forwarded-groups'], undefined);
    assert.equal(echo.headers['x-forwarded-email'], undefined);
  });

  it('does not let a client choose the URI that is judged (nginx overwrites X-Forwarded-Uri)', async () => {
    const spoofs: Array<Record<string, string>> = [
      { 'x-forwarded-uri': '/public' },
      { 'x-original-url': '/public' },
      { 'x-forwarded-uri': '/public', 'x-forwarded-host': 'elsewhere.example', 'x-original-url': 'http://elsewhere.example/public' },
    ];
    const seen = stack.upstream.requests.length;
    for (const spoof of spoofs) {
      const browser = await fetch(`${stack.nginx.url}/admin/panel`, { headers: { ...spoof, accept: 'text/html' }, redirect: 'manual' });
      assert.equal(browser.status, 302, `signed out with ${JSON.stringify(spoof)}`);
      assert.equal(browser.headers.get('location'), '/oauth2/start?rd=/admin/panel');
      const api = await fetch(`${stack.nginx.url}/admin/panel`, { headers: { ...spoof, accept: 'application/json' } });
      assert.equal(api.status, 401, `API call signed out with ${JSON.stringify(spoof)}`);
      await Promise.all([browser.body?.cancel(), api.body?.cancel()]);
      const bobs = await bob.fetch(`${stack.nginx.url}/admin/panel`, { headers: spoof });
      assert.equal(bobs.status, 403, `bob with ${JSON.stringify(spoof)}`);
      await bobs.body?.cancel();
    }
    assert.equal(stack.upstream.requests.length, seen, 'no spoofed request reached the app');
  });

  it('ingress-nginx style (X-Original-URL only): judges the original URL', async () => {
    const admin = await fetch(`${stack.extraUrls[0]}/admin/panel`, { headers: { accept: 'application/json' } });
    assert.equal(admin.status, 401);
    await admin.body?.cancel();
    const open = await echoed(await fetch(`${stack.extraUrls[0]}/public/page`));
    assert.equal(open.url, '/public/page');
    const bobs = await bob.fetch(`${stack.extraUrls[0]}/admin/panel`);
    assert.equal(bobs.status, 403);
    await bobs.body?.cancel();
  });

  it('ingress-nginx style (X-Original-URL only): a client\'s own X-Forwarded-Uri does not choose what is judged', async () => {
    // The proxy sets X-Original-URL but passes the client's X-Forwarded-Uri/-Host through untouched.
    const spoof = { 'x-forwarded-uri': '/public/page', 'x-forwarded-host': '127.0.0.1' };
    const seen = stack.upstream.requests.length;
    const anonymous = await fetch(`${stack.extraUrls[0]}/admin/panel`, { headers: { ...spoof, accept: 'application/json' } });
    await anonymous.body?.cancel();
    const bobs = await bob.fetch(`${stack.extraUrls[0]}/admin/panel`, { headers: spoof });
    await bobs.body?.cancel();
    assert.deepEqual(
      { anonymous: anonymous.status, bob: bobs.status, reachedApp: stack.upstream.requests.length - seen },
      { anonymous: 401, bob: 403, reachedApp: 0 },
      'a signed-out client and bob reached /admin by naming a public URI in X-Forwarded-Uri',
    );
  });

  it('answers an API call signed out with 401 JSON (no redirect), and a signed-out POST too', async () => {
    const api = await fetch(`${stack.nginx.url}/reports`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    assert.equal(api.status, 401);
    assert.equal(api.headers.get('location'), null);
    assert.match(api.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await api.json(), { error: 'unauthenticated' });
    assert.match(api.headers.get('www-authenticate') ?? '', /^Bearer realm="authgate"/, 'authgate\'s WWW-Authenticate reaches the client');

    const post = await fetch(`${stack.nginx.url}/reports`, {
      method: 'POST',
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
      redirect: 'manual',
    });
    assert.equal(post.status, 401, 'only GET/HEAD navigations are redirected');
    await post.body?.cancel();

    const anyType = await fetch(`${stack.nginx.url}/reports`, { headers: { accept: '*/*' }, redirect: 'manual' });
    assert.equal(anyType.status, 401, 'Accept: */* alone is not a browser navigation');
    await anyType.body?.cancel();
  });

  it('keeps /oauth2/auth internal: a client cannot call it through nginx', async () => {
    const response = await alice.fetch(`${stack.nginx.url}/oauth2/auth`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });

  it('signs out through nginx: the next navigation goes to sign in again', async () => {
    const browser = (await signIn(stack, 'bob', '/')).browser;
    const signedOut = await browser.logout(`${stack.nginx.url}/oauth2/sign_out?rd=/`);
    await signedOut.response.body?.cancel();
    const next = await browser.fetch(`${stack.nginx.url}/reports`);
    assert.equal(next.status, 302);
    assert.equal(next.headers.get('location'), '/oauth2/start?rd=/reports');
    await next.body?.cancel();
  });
});

describe('nginx auth_request: a session renewed by the auth subrequest reaches the browser', { skip }, () => {
  let stack: NginxStack;
  // The gateway's clock, moved on to each refresh moment instead of waiting for it.
  const clock = createTestClock();
  before(async () => {
    // Refresh is due at half the token's life (the skew cap), so after one second here.
    stack = await startNginxStack({ accessTokenTtl: 2 }, clock.now);
  });
  after(() => stack?.close());

  it('refreshes twice in a row through nginx, each time with the newest refresh token', async () => {
    const { browser, landed } = await signIn(stack, 'alice', '/app');
    const firstToken = (await echoed(landed)).headers.authorization;
    const firstCookie = browser.jar.get('authgate')?.value;
    assert.ok(firstCookie);

    const tokens = [firstToken];
    for (let round = 1; round <= 2; round++) {
      clock.advance(1_100);
      const previous = browser.jar.get('authgate')?.value;
      const echo = await echoed(await browser.fetch(`${stack.nginx.url}/app`));
      tokens.push(echo.headers.authorization);
      assert.notEqual(browser.jar.get('authgate')?.value, previous, `round ${round}: the renewed cookie came through nginx`);
      assert.equal(stack.idp.refreshGrants(), round);
    }
    assert.equal(new Set(tokens).size, 3, 'each refresh gave the app a new access token');
    assert.deepEqual(
      stack.idp.tokenRequests.filter((r) => r.grantType === 'refresh_token').map((r) => r.status),
      [200, 200],
      'no refresh token was used twice',
    );
  });
});
