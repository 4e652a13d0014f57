/**
 * Forward-auth fails closed: when the original request cannot be known (the peer is not in
 * server.trustedProxies, or a trusted peer names no original URI) and any route is protected, /oauth2/auth
 * answers 403 {"error":"unknown-original-request"} instead of judging some other path, and says why in the
 * log once per cause. A host the proxy names that cannot be a host is a 400.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

/** What a raw request got back. */
interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request from a chosen local address (127.0.0.2 is a peer no test configuration trusts). */
function rawRequest(base: string, target: string, headers: Record<string, string>, from = '127.0.0.1', method = 'GET'): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method, headers, agent: false, localAddress: from }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The X-Auth-Request-* headers of an answer. */
function identityHeaders(answer: RawAnswer): string[] {
  return Object.keys(answer.headers).filter((name) => name.startsWith('x-auth-request-'));
}

const UNTRUSTED = '127.0.0.2';
const UNKNOWN = { error: 'unknown-original-request' };

/** Asserts the fail-closed answer: 403, the JSON body, no-store, no identity. */
function assertRefused(answer: RawAnswer, what: string) {
  assert.equal(answer.status, 403, `${what}: ${answer.body}`);
  assert.deepEqual(JSON.parse(answer.body), UNKNOWN, what);
  assert.equal(answer.headers['cache-control'], 'no-store', what);
  assert.deepEqual(identityHeaders(answer), [], what);
}

describe('forward-auth with server.trustedProxies empty (the default) fails closed', () => {
  let stack: Stack;
  let aliceCookie: string;
  let bobCookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push({ name: 'admin', path: '/admin', allow: { groups: ['admins'] } }, { name: 'open', path: '/open', auth: 'public' });
      },
    });
    aliceCookie = (await stack.signIn('alice', '/oauth2/start?rd=/')).jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    bobCookie = (await stack.signIn('bob', '/oauth2/start?rd=/')).jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(() => stack.close());

  it('a denied path is 403 unknown-original-request, never 202, signed in or out, whatever the headers name', async () => {
    const originals: Array<Record<string, string>> = [
      { 'x-forwarded-uri': '/admin/panel', 'x-forwarded-host': new URL(stack.publicUrl).host },
      { 'x-original-url': `${stack.publicUrl}/admin/panel` },
      { 'x-original-url': '/admin/panel' },
      {},
    ];
    for (const [who, cookie] of [['bob', bobCookie], ['alice', aliceCookie], ['signed out', '']] as const) {
      for (const original of originals) {
        const answer = await rawRequest(stack.gateway.url, '/oauth2/auth', { accept: 'application/json', cookie, ...original });
        assertRefused(answer, `${who} ${JSON.stringify(original)}`);
      }
    }
  });

  it('logs why once, however many checks come: the peer, and that it must be listed in server.trustedProxies', async () => {
    for (let i = 0; i < 5; i++) {
      assertRefused(await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/admin' }), `check ${i}`);
    }
    const lines = stack.gateway.logEntries().filter((e) => e.level === 'warn' && String(e.msg).startsWith('forward-auth:'));
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.cause, 'untrusted-peer');
    assert.equal(lines[0]?.peer, '127.0.0.1');
    assert.match(String(lines[0]?.msg), /server\.trustedProxies/);
  });

  it('the Envoy form /oauth2/auth/* still answers 403 untrusted-peer, with no identity', async () => {
    for (const method of ['GET', 'POST']) {
      const answer = await rawRequest(stack.gateway.url, '/oauth2/auth/admin/panel', { cookie: aliceCookie }, '127.0.0.1', method);
      assert.equal(answer.status, 403, method);
      assert.deepEqual(JSON.parse(answer.body), { error: 'untrusted-peer' });
      assert.deepEqual(identityHeaders(answer), []);
    }
  });
});

describe('forward-auth: a trusted peer that names no original URI, and an untrusted peer beside it', () => {
  let stack: Stack;
  let bobCookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams = [
          { ...c.upstreams[0], name: 'app', path: '/', auth: 'public' },
          { name: 'admin', path: '/admin', allow: { groups: ['admins'] } },
        ];
      },
    });
    bobCookie = (await stack.signIn('bob', '/oauth2/start?rd=/')).jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(() => stack.close());

  it('without X-Forwarded-Uri and X-Original-URL (X-Forwarded-Host alone, or nothing) the answer is 403, not the "/" route\'s 202', async () => {
    const variants: Array<Record<string, string>> = [{}, { 'x-forwarded-host': 'app.example.com' }, { 'x-forwarded-proto': 'https', 'x-forwarded-method': 'GET' }];
    for (const headers of variants) {
      for (const cookie of [bobCookie, '']) {
        const answer = await rawRequest(stack.gateway.url, '/oauth2/auth', { accept: 'application/json', cookie, ...headers });
        assertRefused(answer, `${cookie ? 'bob' : 'signed out'} ${JSON.stringify(headers)}`);
      }
    }
  });

  it('an untrusted peer (127.0.0.2) is refused even for the public "/": its original request is unknown', async () => {
    for (const uri of ['/', '/admin']) {
      const answer = await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': uri, cookie: bobCookie }, UNTRUSTED);
      assertRefused(answer, uri);
    }
  });

  it('logs each cause once, naming the peer and what to fix', async () => {
    for (let i = 0; i < 5; i++) {
      assertRefused(await rawRequest(stack.gateway.url, '/oauth2/auth', {}), `trusted ${i}`);
      assertRefused(await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/' }, UNTRUSTED), `untrusted ${i}`);
    }
    const lines = stack.gateway.logEntries().filter((e) => e.level === 'warn' && String(e.msg).startsWith('forward-auth:'));
    assert.deepEqual(
      lines.map((l) => [l.cause, l.peer]),
      [
        ['no-original-uri', '127.0.0.1'],
        ['untrusted-peer', UNTRUSTED],
      ],
    );
    assert.match(String(lines[0]?.msg), /X-Forwarded-Uri/);
    assert.match(String(lines[1]?.msg), /server\.trustedProxies/);
  });

  it('a trusted peer that names the URI is judged as before: bob 403 forbidden at /admin, 202 at "/"', async () => {
    const admin = await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/admin/x', cookie: bobCookie });
    assert.equal(admin.status, 403);
    assert.equal((JSON.parse(admin.body) as { error: string }).error, 'forbidden');
    const root = await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/', cookie: bobCookie });
    assert.equal(root.status, 202);
  });

  it('a host that cannot name a host, in X-Forwarded-Host or X-Original-URL, is 400 bad-original-host', async () => {
    const bad: Array<Record<string, string>> = [
      ...['a..b', 'app.example.com..', 'user@app.example.com', 'app.example.com:99999', 'app example.com', '', 'app.example.com:x'].map((host) => ({
        'x-forwarded-uri': '/',
        'x-forwarded-host': host,
      })),
      { 'x-original-url': 'http://a..b/' },
      { 'x-original-url': 'http://app.example.com../admin' },
      { 'x-original-url': 'mailto:someone' },
    ];
    for (const headers of bad) {
      const answer = await rawRequest(stack.gateway.url, '/oauth2/auth', { cookie: bobCookie, ...headers });
      assert.equal(answer.status, 400, `${JSON.stringify(headers)}: ${answer.body}`);
      assert.deepEqual(JSON.parse(answer.body), { error: 'bad-original-host' }, JSON.stringify(headers));
      assert.deepEqual(identityHeaders(answer), []);
    }
    const good = await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/', 'x-forwarded-host': 'App.Example.COM.', cookie: bobCookie });
    assert.equal(good.status, 202, 'a host spelt another way is still a host');
  });
});

describe('forward-auth with public routes only still answers an unknown original', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams = [{ name: 'open', path: '/', auth: 'public' }];
      },
    });
  });
  after(() => stack.close());

  it('an untrusted peer gets 202 (there is nothing to protect) and nothing is logged', async () => {
    const answer = await rawRequest(stack.gateway.url, '/oauth2/auth', { 'x-forwarded-uri': '/anything' });
    assert.equal(answer.status, 202, answer.body);
    assert.deepEqual(identityHeaders(answer), []);
    assert.equal(stack.gateway.logEntries().filter((e) => String(e.msg).startsWith('forward-auth:')).length, 0);
  });
});
