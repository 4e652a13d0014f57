/**
 * X-Forwarded-For/Proto/Host (and the client's Host) are believed only from `server.trustedProxies`, and even
 * then never for building URLs: the redirect URI, the post-login target and cookie attributes follow publicUrl.
 * From a trusted proxy the client IP is the rightmost untrusted address of X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

/** What a raw request got back. */
interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with headers fetch would refuse or rewrite (Host). */
function rawGet(base: string, target: string, headers: Record<string, string>): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The Set-Cookie headers of an answer, as a list. */
function setCookies(answer: RawAnswer): string[] {
  const value = answer.headers['set-cookie'];
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** The redirect_uri of a 302 to the provider's authorization endpoint. */
function redirectUriOf(answer: RawAnswer): string | null {
  assert.equal(answer.status, 302, answer.body);
  return new URL(String(answer.headers.location)).searchParams.get('redirect_uri');
}

/** A browser whose every request to the gateway carries the given (spoofed) headers. */
class SpoofingBrowser extends BrowserClient {
  constructor(
    private readonly gatewayOrigin: string,
    private readonly extra: Record<string, string>,
  ) {
    super();
  }

  override fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    if (new URL(url).origin !== this.gatewayOrigin) return super.fetch(url, init);
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.extra)) headers.set(name, value);
    return super.fetch(url, { ...init, headers });
  }
}

/**
 * Starts a login with a raw request (spoofed Host and forwarding headers), then lets a browser finish it at
 * the provider; returns every URL the browser visited after the provider sent it back.
 */
async function loginFromRawStart(stack: Stack, target: string, headers: Record<string, string>) {
  const start = await rawGet(stack.gateway.url, target, { accept: 'text/html', ...headers });
  assert.equal(start.status, 302, start.body);
  const browser = new BrowserClient();
  for (const cookie of setCookies(start)) browser.jar.setCookie(cookie, `${stack.publicUrl}${target}`);
  const result = await browser.login(String(start.headers.location), 'alice');
  const afterProvider = result.visited.slice(result.visited.indexOf(result.callbackUrl));
  return { start, result, afterProvider };
}

const SPOOFED = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };

describe('trusted proxies: an untrusted peer cannot change anything with X-Forwarded-* or Host', () => {
  let stack: Stack;
  let cookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['10.0.0.0/8'];
        c.upstreams.push({ name: 'open', path: '/open', auth: 'public' }); // forward-auth only
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(() => stack.close());

  it('the upstream gets X-Forwarded-For = the peer, proto and host from publicUrl', async () => {
    const answer = await rawGet(stack.gateway.url, '/reports', { accept: 'application/json', cookie, host: 'evil.example', ...SPOOFED });
    assert.equal(answer.status, 200, answer.body);
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], new URL(stack.publicUrl).host);
    assert.notEqual(seen.host, 'evil.example', 'the client Host went upstream without preserveHost');
  });

  it('the login redirect_uri is publicUrl + /oauth2/callback despite Host and X-Forwarded-Host: evil.example', async () => {
    for (const target of ['/oauth2/start', '/oauth2/start?rd=/x', '/reports']) {
      const answer = await rawGet(stack.gateway.url, target, { accept: 'text/html', host: 'evil.example', ...SPOOFED });
      assert.equal(redirectUriOf(answer), `${stack.publicUrl}/oauth2/callback`, target);
      assert.doesNotMatch(String(answer.headers.location), /evil/, target);
    }
  });

  it('the post-login target built from the request stays on publicUrl’s origin', async () => {
    const { result, afterProvider } = await loginFromRawStart(stack, '/reports/q3?year=2026', { host: 'evil.example', ...SPOOFED });
    assert.equal(new URL(result.callbackUrl).origin, stack.publicUrl);
    for (const url of afterProvider) assert.equal(new URL(url).origin, stack.publicUrl, url);
    assert.equal(afterProvider[afterProvider.length - 1], `${stack.publicUrl}/reports/q3?year=2026`);
    assert.equal(result.response?.status, 200);
    assert.equal(stack.upstream.last()?.url, '/reports/q3?year=2026');
  });

  it('an absolute rd on the spoofed host is refused ("/"), even when Host says it is ours', async () => {
    const rd = encodeURIComponent('http://evil.example/steal');
    const { afterProvider } = await loginFromRawStart(stack, `/oauth2/start?rd=${rd}`, { host: 'evil.example', ...SPOOFED });
    assert.equal(afterProvider[afterProvider.length - 1], `${stack.publicUrl}/`);
  });

  it('cookies are not Secure on an http publicUrl, whatever X-Forwarded-Proto says', async () => {
    const browser = new SpoofingBrowser(stack.publicUrl, SPOOFED);
    const start = await browser.fetch(`${stack.publicUrl}/oauth2/start`);
    const tx = start.headers.getSetCookie();
    assert.equal(tx.length, 1);
    assert.match(tx[0] ?? '', /^authgate_tx_/);
    assert.doesNotMatch(tx[0] ?? '', /;\s*secure/i);
    const result = await browser.login(String(start.headers.get('location')), 'alice');
    assert.equal(result.response?.status, 200);
    const session = browser.jar.get('authgate');
    assert.ok(session, 'no session cookie');
    assert.equal(session.secure, false);
  });

  it('forward-auth does not believe X-Forwarded-Uri: a check naming a public URI is refused (403), not judged', async () => {
    for (const session of ['', cookie]) {
      const answer = await rawGet(stack.gateway.url, '/oauth2/auth', {
        accept: 'application/json',
        cookie: session,
        'x-forwarded-uri': '/open/x',
        'x-forwarded-host': new URL(stack.publicUrl).host,
      });
      assert.equal(answer.status, 403, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { error: 'unknown-original-request' });
    }
  });
});

describe('trusted proxies: cookies on an https publicUrl are Secure even when X-Forwarded-Proto says http', () => {
  let stack: Stack;
  let httpsUrl: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        httpsUrl = c.server.publicUrl.replace('http:', 'https:');
        c.server.publicUrl = httpsUrl;
        c.server.trustedProxies = [];
      },
    });
  });
  after(() => stack.close());

  it('sets __Secure- transaction cookies with Secure and an https redirect_uri', async () => {
    const answer = await rawGet(stack.gateway.url, '/oauth2/start', { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example', host: 'evil.example' });
    assert.equal(redirectUriOf(answer), `${httpsUrl}/oauth2/callback`);
    const cookies = setCookies(answer);
    assert.equal(cookies.length, 1);
    assert.match(cookies[0] ?? '', /^__Host-authgate_tx_/);
    assert.match(cookies[0] ?? '', /;\s*Secure/i);
  });
});

describe('trusted proxies: a trusted peer’s X-Forwarded-For is believed (rightmost untrusted), URLs still follow publicUrl', () => {
  let stack: Stack;
  let cookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(() => stack.close());

  const upstreamSees = async (headers: Record<string, string>) => {
    const answer = await rawGet(stack.gateway.url, '/whoami', { accept: 'application/json', cookie, ...headers });
    assert.equal(answer.status, 200, answer.body);
    return stack.upstream.last()?.headers ?? {};
  };

  it('X-Forwarded-For: 203.0.113.7 → the upstream gets "203.0.113.7, 127.0.0.1" (client, then the trusted peer)', async () => {
    const seen = await upstreamSees({ 'x-forwarded-for': '203.0.113.7' });
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  });

  it('without X-Forwarded-For the trusted peer itself is the client', async () => {
    const seen = await upstreamSees({});
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  });

  it('a chain "1.1.1.1, 203.0.113.7": the client is 203.0.113.7, the spoofable 1.1.1.1 is dropped', async () => {
    const seen = await upstreamSees({ 'x-forwarded-for': '1.1.1.1, 203.0.113.7' });
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.doesNotMatch(String(seen['x-forwarded-for']), /1\.1\.1\.1/);
  });

  it('trusted hops inside the chain are kept: "1.1.1.1, 203.0.113.7, 127.0.0.1" → "203.0.113.7, 127.0.0.1, 127.0.0.1"', async () => {
    const seen = await upstreamSees({ 'x-forwarded-for': '1.1.1.1, 203.0.113.7, 127.0.0.1' });
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1, 127.0.0.1');
  });

  it('X-Forwarded-Proto/Host from a trusted peer still do not reach the upstream: publicUrl’s go', async () => {
    const seen = await upstreamSees({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], new URL(stack.publicUrl).host);
  });

  it('the request log line never names the spoofable 1.1.1.1; an address field, if any, is 203.0.113.7', async () => {
    await upstreamSees({ 'x-forwarded-for': '1.1.1.1, 203.0.113.7' });
    const line = stack.gateway.logEntries().findLast((entry) => entry.msg === 'request' && entry.path === '/whoami');
    assert.ok(line, 'no request log line');
    assert.doesNotMatch(JSON.stringify(line), /1\.1\.1\.1/);
    // Today the line carries no client address at all (the contract does not ask for one).
    for (const key of ['ip', 'clientIp', 'remoteAddress']) if (key in line) assert.equal(line[key], '203.0.113.7', key);
  });

  it('the redirect_uri stays publicUrl’s even with X-Forwarded-Host/Proto from the trusted peer', async () => {
    for (const target of ['/oauth2/start', '/reports']) {
      const answer = await rawGet(stack.gateway.url, target, { accept: 'text/html', host: 'evil.example', ...SPOOFED });
      assert.equal(redirectUriOf(answer), `${stack.publicUrl}/oauth2/callback`, target);
      const tx = setCookies(answer);
      assert.ok(tx.every((c) => !/;\s*secure/i.test(c)), 'a trusted X-Forwarded-Proto: https made the cookie Secure');
    }
  });

  it('the post-login target stays on publicUrl’s origin with a trusted X-Forwarded-Host', async () => {
    const { afterProvider } = await loginFromRawStart(stack, '/reports?x=1', { host: 'evil.example', ...SPOOFED });
    for (const url of afterProvider) assert.equal(new URL(url).origin, stack.publicUrl, url);
    assert.equal(afterProvider[afterProvider.length - 1], `${stack.publicUrl}/reports?x=1`);
  });
});
