/**
 * Prefixes with characters outside the unreserved set (`/@admin`, `/odata/$metadata`, `/café`, `/a b`,
 * `/日本`) through a running gateway: every generated spelling of a path under them gets their policy
 * (403 for a user not allowed, 401 signed out), for proxied requests and for forward-auth alike; the
 * upstream receives one canonical wire form, for plain requests and WebSocket upgrades; bytes that are not
 * UTF-8 are a 400. Requests go through node:http with the raw path (fetch would normalise the URL).
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocket, WebSocketServer } from 'ws';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { rawGet } from '../helpers/raw-http.js';
import { PROTECTED_PREFIXES, pathUnder, spellingOf } from './path-encodings.js';

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
/** A raw GET on one keep-alive pool (a few hundred of them), asking for JSON answers. */
const get = (base: string, path: string, headers: Record<string, string> = {}) => rawGet(base, path, { accept: 'application/json', ...headers }, agent);

/** UTF-8 bytes as the latin1 text a raw request line is made of. */
const rawBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/**
 * `count` spellings of paths under each protected prefix (fixed seed: the same sample every run); raw
 * non-ASCII bytes only where a request line cannot carry them but a header can (forward-auth).
 */
function sampleSpellings(count: number, seed: number, rawNonAscii = false): Array<{ prefix: string; raw: string }> {
  return PROTECTED_PREFIXES.flatMap((prefix) =>
    fc.sample(
      pathUnder(prefix).chain((path) => spellingOf(path, { rawNonAscii }).map((raw) => ({ prefix, raw }))),
      { numRuns: count, seed },
    ),
  );
}

function cookieOf(browser: BrowserClient): string {
  const cookie = browser.jar.get('authgate');
  assert.ok(cookie, 'signed in');
  return `authgate=${cookie.value}`;
}

describe('prefixes with characters outside the unreserved set, through the gateway', () => {
  let stack: Stack;
  let wsServer: WebSocketServer;
  const wsUrls: string[] = [];
  let aliceCookie: string;
  let bobCookie: string;

  before(async () => {
    wsServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wsServer.once('listening', () => resolve()));
    wsServer.on('connection', (socket, req) => {
      wsUrls.push(req.url ?? '');
      socket.close(1000, 'seen');
    });
    const wsUrl = `http://127.0.0.1:${(wsServer.address() as AddressInfo).port}`;
    stack = await startStack({
      configure: (c) => {
        const url = c.upstreams[0].url;
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.push(
          { name: 'odata-public', path: '/odata', url, auth: 'public' },
          { name: 'ws', path: '/ws', url: wsUrl },
          ...PROTECTED_PREFIXES.map((path, i) => ({ name: `protected-${i}`, path, url, allow: { groups: ['admins'] } })),
        );
      },
    });
    aliceCookie = cookieOf(await stack.signIn('alice'));
    bobCookie = cookieOf(await stack.signIn('bob'));
  });
  after(async () => {
    agent.destroy();
    await stack.close();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
  });

  it('a user not allowed gets 403 for every spelling, and the upstream receives none of them', async () => {
    const before = stack.upstream.requests.length;
    for (const { prefix, raw } of sampleSpellings(25, 7)) {
      const { status } = await get(stack.publicUrl, raw, { cookie: bobCookie });
      assert.equal(status, 403, `${prefix}: ${JSON.stringify(raw)}`);
    }
    assert.equal(stack.upstream.requests.length, before);
  });

  it('a signed-out request gets 401 for every spelling', async () => {
    for (const { prefix, raw } of sampleSpellings(10, 11)) {
      const { status } = await get(stack.publicUrl, raw);
      assert.equal(status, 401, `${prefix}: ${JSON.stringify(raw)}`);
    }
  });

  it('forward-auth judges X-Forwarded-Uri (and Envoy path) spellings the same way: 403 not allowed, 401 signed out, 2xx allowed', async () => {
    const ask = (uri: string, cookie?: string) =>
      get(stack.publicUrl, '/oauth2/auth', { 'x-forwarded-uri': uri, 'x-forwarded-host': 'app.internal', ...(cookie ? { cookie } : {}) });
    assert.equal((await ask('/%40admin', bobCookie)).status, 403);
    assert.equal((await ask('/odata/%24metadata', bobCookie)).status, 403);
    assert.equal((await ask('/%40admin', aliceCookie)).status, 202);
    assert.equal((await ask(rawBytes('/café/x'), bobCookie)).status, 403, 'raw UTF-8 bytes, as nginx passes $request_uri');
    for (const { prefix, raw } of sampleSpellings(8, 13, true)) {
      assert.equal((await ask(raw, bobCookie)).status, 403, `bob ${prefix}: ${JSON.stringify(raw)}`);
      assert.equal((await ask(raw)).status, 401, `signed out ${prefix}: ${JSON.stringify(raw)}`);
    }
    assert.equal((await ask('/caf%C3', bobCookie)).status, 400, 'an original URI that is not UTF-8');
    // Envoy's form: the original path after /oauth2/auth, its escapes read once.
    assert.equal((await get(stack.publicUrl, '/oauth2/auth/%40admin/x', { cookie: bobCookie })).status, 403);
    assert.equal((await get(stack.publicUrl, '/oauth2/auth/caf%C3%A9', { cookie: bobCookie })).status, 403);
    assert.equal((await get(stack.publicUrl, '/oauth2/auth/%40admin', { cookie: aliceCookie })).status, 200);
    assert.equal((await get(stack.publicUrl, '/oauth2/auth/%2540admin', { cookie: bobCookie })).status, 200, 'the path /%40admin is not /@admin');
  });

  it('the upstream receives one canonical wire form', async () => {
    const cases: Array<[sent: string, received: string]> = [
      ['/caf%C3%A9', '/caf%C3%A9'],
      ['/caf%c3%a9/x', '/caf%C3%A9/x'],
      ['/%40admin', '/@admin'],
      ['/@admin/%7Euser', '/@admin/~user'],
      // %25 is "%": the path /%40admin, not /@admin (the root route serves it), sent as it came.
      ['/%2540admin', '/%2540admin'],
      ['/%2540ADMIN?x=%40', '/%2540ADMIN?x=%40'],
      ['/odata/%24metadata', '/odata/$metadata'],
      ['/a%20b/%5Bx%5d', '/a%20b/%5Bx%5D'],
      ['/%e6%97%a5%E6%9C%AC/x', '/%E6%97%A5%E6%9C%AC/x'],
      ['/x/a%3Fb%23c', '/x/a%3Fb%23c'],
    ];
    for (const [sent, received] of cases) {
      const { status } = await get(stack.publicUrl, sent, { cookie: aliceCookie });
      assert.equal(status, 200, JSON.stringify(sent));
      assert.equal(stack.upstream.last()?.url, received, JSON.stringify(sent));
    }
  });

  it('a WebSocket upgrade reaches the upstream in the same wire form', async () => {
    const cases: Array<[sent: string, received: string]> = [
      ['/ws/caf%c3%a9', '/ws/caf%C3%A9'],
      ['/ws/%40x', '/ws/@x'],
      ['/ws/%2540x', '/ws/%2540x'],
      ['/ws/a%20b?q=1', '/ws/a%20b?q=1'],
    ];
    const base = stack.publicUrl.replace(/^http/, 'ws');
    for (const [sent, received] of cases) {
      const ws = new WebSocket(base + sent, { headers: { cookie: aliceCookie } });
      const code = await new Promise<number>((resolve, reject) => {
        ws.once('close', (c) => resolve(c));
        ws.once('error', reject);
      });
      assert.equal(code, 1000, sent);
      assert.equal(wsUrls.at(-1), received, sent);
    }
  });

  it('escapes that are not UTF-8 are a 400 from the route step, never a 500 or 502', async () => {
    for (const raw of ['/caf%C3', '/%FF', '/%C0%AE%C0%AE/admin', '/%40admin%E6%97', '/%c3%28']) {
      const { status, body } = await get(stack.publicUrl, raw, { cookie: aliceCookie });
      assert.equal(status, 400, JSON.stringify(raw));
      assert.match(body, /AUTHGATE_ERR_BAD_PATH/);
    }
  });

  it("raw bytes above 0x7F in the request line are a 400 (Node's parser refuses them before routing)", async () => {
    for (const raw of [rawBytes('/café'), '/caf\u00e9', rawBytes('/日本')]) {
      const { status } = await get(stack.publicUrl, raw, { cookie: aliceCookie });
      assert.equal(status, 400, JSON.stringify(raw));
    }
  });
});
