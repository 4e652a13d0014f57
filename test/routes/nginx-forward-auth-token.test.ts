/**
 * Through a real nginx running the documented recipe, tokens stay server-side: no client request, however
 * the path is spelt, reaches authgate's check endpoints (/oauth2/auth, or the Envoy form /oauth2/auth/...)
 * and reads an answer with identity or the access token; and the app gets the user's access token only for
 * routes with `authRequestAccessToken: true`. Also for the ingress-nginx style server of the tests.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { ingressNginxStyleServer, nginxAvailable, startNginxForwardAuthStack, type NginxForwardAuthStack } from '../helpers/nginx.js';
import type { RecordedRequest } from '../helpers/upstream.js';

const skip = nginxAvailable() ? false : 'nginx with http_auth_request_module is not installed (apt-get install nginx)';

/** What a raw request got back. */
interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes on the wire exactly as written (fetch would resolve "." and ".." first). */
function rawRequest(base: string, target: string, headers: Record<string, string>, method = 'GET'): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Spellings of authgate's check endpoints a client might try through nginx. */
const CHECK_PATHS = [
  '/oauth2/auth',
  '/oauth2/auth?x=1',
  '/oauth2/auth/',
  '/oauth2/auth/x',
  '/oauth2/auth/tokened/x',
  '/oauth2/%61uth/x',
  '/oauth2/%61uth',
  '/%6Fauth2/auth/x',
  '/oauth2//auth/x',
  '//oauth2/auth/x',
  '/oauth2/./auth/x',
  '/oauth2/x/../auth/x',
  '/oauth2/start/../auth/x',
  '/oauth2/%2e/auth/x',
  '/OAUTH2/auth/x',
  '/oauth2/AUTH/x',
  '/oauth2/auth;x/y',
  '/oauth2/auth%2Fx',
];

describe('nginx recipe: no client reaches authgate\'s check endpoints or its tokens', { skip }, () => {
  let stack: NginxForwardAuthStack;
  let alice: BrowserClient;
  let cookie: string;
  before(async () => {
    stack = await startNginxForwardAuthStack({
      upstreams: [
        { name: 'app', path: '/' },
        { name: 'tokened', path: '/tokened', authRequestAccessToken: true },
        { name: 'admin', path: '/admin', allow: { groups: ['admins'] }, authRequestAccessToken: true },
      ],
      extraServers: { count: 1, config: ([port]) => ingressNginxStyleServer(port) },
    });
    alice = new BrowserClient();
    const landed = (await alice.login(`${stack.nginx.url}/oauth2/start?rd=/`, 'alice')).response;
    assert.equal(landed?.status, 200);
    await landed?.body?.cancel();
    cookie = alice.jar.cookieHeader(`${stack.nginx.url}/`) ?? '';
  });
  after(() => stack?.close());

  /**
   * Asks `base` for each check path, as alice; no answer carries X-Auth-Request-* headers, and a 2xx is only
   * ever the app's own page (the app recorded the request), never authgate's check answer.
   */
  async function assertNoCheckAnswer(base: string) {
    for (const method of ['GET', 'POST', 'OPTIONS']) {
      for (const path of CHECK_PATHS) {
        const seen = stack.upstream.requests.length;
        const answer = await rawRequest(base, path, { cookie, accept: 'application/json' }, method);
        const what = `${method} ${path} → ${answer.status}`;
        assert.deepEqual(Object.keys(answer.headers).filter((name) => name.startsWith('x-auth-request-')), [], what);
        if (answer.status >= 200 && answer.status < 300) {
          assert.equal(stack.upstream.requests.length, seen + 1, `${what}: a 2xx that the app did not serve`);
        }
      }
    }
  }

  it('through the documented recipe', async () => {
    await assertNoCheckAnswer(stack.nginx.url);
  });

  it('through the ingress-nginx style server', async () => {
    await assertNoCheckAnswer(stack.extraUrls[0]);
  });

  it('sign-in and userinfo still reach authgate through the recipe', async () => {
    const userinfo = await alice.fetch(`${stack.nginx.url}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(userinfo.status, 200);
    assert.equal(((await userinfo.json()) as { user: string }).user, 'alice');
    const start = await fetch(`${stack.nginx.url}/oauth2/start?rd=/x`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    assert.ok(start.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));
    await start.body?.cancel();
  });

  /** What the app received for alice's request to `path`. */
  async function appSees(path: string): Promise<RecordedRequest> {
    const answer = await alice.fetch(`${stack.nginx.url}${path}`, { headers: { authorization: 'Basic Y2xpZW50OnNlbnQ=' } });
    assert.equal(answer.status, 200);
    return (await answer.json()) as RecordedRequest;
  }

  it('the app gets the access token only for routes with authRequestAccessToken: true', async () => {
    const tokened = await appSees('/tokened/report');
    assert.match(String(tokened.headers.authorization), /^Bearer \S{20,}$/);
    const admin = await appSees('/admin/panel');
    assert.equal(admin.headers.authorization, tokened.headers.authorization);
    const plain = await appSees('/report');
    assert.equal(plain.headers.authorization, 'Basic Y2xpZW50OnNlbnQ=', 'without the option the client\'s own Authorization passes, no token');
    for (const echo of [tokened, admin, plain]) assert.equal(echo.headers['x-auth-request-access-token'], undefined);
  });
});
