/**
 * Forward-auth keeps the access token server-side: X-Auth-Request-Access-Token goes only to a peer in
 * server.trustedProxies, and only when every route judged sets `authRequestAccessToken: true` (default
 * false), on /oauth2/auth and on the Envoy form /oauth2/auth/* alike.
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

/** A GET from a chosen local address: 127.0.0.1 is the trusted proxy here, 127.0.0.2 is not. */
function rawGet(base: string, target: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, headers, agent: false, localAddress: from }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('forward-auth: X-Auth-Request-Access-Token only to a trusted peer, only for routes that ask for it', () => {
  let stack: Stack;
  let cookie: string;
  /** The access token the gateway holds for alice, as the proxied app receives it. */
  let token: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.push(
          { name: 'tokened', path: '/tokened', authRequestAccessToken: true },
          { name: 'plain', path: '/plain' },
          { name: 'declined', path: '/declined', authRequestAccessToken: false },
        );
      },
    });
    cookie = (await stack.signIn('alice')).jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    const proxied = await rawGet(stack.gateway.url, '/whoami', { cookie, accept: 'application/json' });
    assert.equal(proxied.status, 200);
    token = String(stack.upstream.last()?.headers.authorization).replace(/^Bearer /, '');
    assert.ok(token.length > 20);
  });
  after(() => stack.close());

  const check = (headers: Record<string, string>, from?: string, target = '/oauth2/auth') => rawGet(stack.gateway.url, target, { cookie, ...headers }, from);

  it('trusted peer, route with authRequestAccessToken: true: the token comes, on /oauth2/auth and /oauth2/auth/*', async () => {
    for (const [what, answer] of [
      ['X-Forwarded-Uri', await check({ 'x-forwarded-uri': '/tokened/report' })],
      ['X-Original-URL', await check({ 'x-original-url': '/tokened/report' })],
      ['Envoy', await check({}, undefined, '/oauth2/auth/tokened/report')],
    ] as const) {
      assert.ok(answer.status === 202 || answer.status === 200, `${what}: ${answer.status} ${answer.body}`);
      assert.equal(answer.headers['x-auth-request-access-token'], token, what);
      assert.equal(answer.headers['x-auth-request-user'], 'alice', what);
    }
  });

  it('trusted peer, route without the option (default, or false): identity but no token', async () => {
    for (const target of ['/plain/x', '/declined/x', '/anything-else']) {
      for (const answer of [await check({ 'x-forwarded-uri': target }), await check({}, undefined, `/oauth2/auth${target}`)]) {
        assert.ok(answer.status === 202 || answer.status === 200, `${target}: ${answer.status}`);
        assert.equal(answer.headers['x-auth-request-user'], 'alice', target);
        assert.equal(answer.headers['x-auth-request-access-token'], undefined, target);
      }
    }
  });

  it('two originals judged (X-Forwarded-Uri and X-Original-URL disagree): the token only if both routes ask', async () => {
    const mixed = await check({ 'x-forwarded-uri': '/tokened/a', 'x-original-url': '/plain/b' });
    assert.equal(mixed.status, 202);
    assert.equal(mixed.headers['x-auth-request-access-token'], undefined);
    const both = await check({ 'x-forwarded-uri': '/tokened/a', 'x-original-url': '/tokened/b' });
    assert.equal(both.headers['x-auth-request-access-token'], token);
  });

  it('untrusted peer (127.0.0.2): never the token, even for the route with the option, on either form', async () => {
    for (const answer of [
      await check({ 'x-forwarded-uri': '/tokened/report' }, '127.0.0.2'),
      await check({ 'x-original-url': '/tokened/report' }, '127.0.0.2'),
      await check({}, '127.0.0.2'),
      await check({}, '127.0.0.2', '/oauth2/auth/tokened/report'),
    ]) {
      assert.equal(answer.status, 403, answer.body);
      assert.equal(answer.headers['x-auth-request-access-token'], undefined);
      assert.equal(answer.headers['x-auth-request-user'], undefined);
      assert.doesNotMatch(answer.body, new RegExp(token.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
  });
});
