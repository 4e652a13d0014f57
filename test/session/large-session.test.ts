/**
 * The cookie store with large sessions. A user with 150 groups signs in and works with a Cookie header small
 * enough for default proxies (sessions are compressed before sealing). A session that is still larger than
 * one cookie (groups with random, incompressible names) is split into `authgate`, `authgate_1`, … (each
 * Set-Cookie line under 4096 bytes, at most MAX_SESSION_CHUNKS of them: a larger session is refused, see
 * session-too-large.test.ts) and joined back; a missing chunk means signed out; a later, smaller login
 * clears the chunks it no longer uses.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { MAX_SESSION_CHUNKS } from '../../src/session/cookie-store.js';

const groupNames = (count: number) => Array.from({ length: count }, (_, i) => `team-platform-engineering-${String(i).padStart(3, '0')}`);
const MANY_GROUPS = groupNames(150);
/** Random names do not compress: this session needs several cookies (three, within the bound). */
const RANDOM_GROUPS = Array.from({ length: 60 }, () => `g-${randomBytes(20).toString('hex')}`);
/** nginx's default large_client_header_buffers (8k): one header line above it is refused. */
const PROXY_HEADER_LINE_LIMIT = 8 * 1024;
const API = { accept: 'application/json' };
/** What a browser accepts in one response's headers (Chromium allows 256 KiB); fetch stops at 16 KiB. */
const BROWSER_RESPONSE_HEADER_LIMIT = 256 * 1024;

const isSessionCookie = (name: string) => name === 'authgate' || /^authgate_\d+$/.test(name);
const chunkIndex = (name: string) => (name === 'authgate' ? 0 : Number(name.slice('authgate_'.length)));

/**
 * GET `url` with the browser's cookies through node:http, accepting response headers as large as a real
 * browser does, and stores the cookies set. (The callback sets every chunk at once; with a big session its
 * headers pass fetch's 16 KiB limit, which is the test client's limit, not a browser's.)
 */
function browserGet(browser: BrowserClient, url: string): Promise<{ status: number; setCookies: string[]; location?: string }> {
  return new Promise((resolve, reject) => {
    const cookie = browser.jar.cookieHeader(url);
    const req = request(url, { headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) }, maxHeaderSize: BROWSER_RESPONSE_HEADER_LIMIT }, (res) => {
      res.resume();
      res.on('end', () => {
        const setCookies = res.headers['set-cookie'] ?? [];
        for (const line of setCookies) browser.jar.setCookie(line, url);
        resolve({ status: res.statusCode ?? 0, setCookies, ...(res.headers.location ? { location: res.headers.location } : {}) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The session cookies among Set-Cookie lines, by name. */
function sessionSetCookies(lines: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of lines) {
    const name = line.slice(0, line.indexOf('='));
    if (isSessionCookie(name)) found.set(name, line);
  }
  return found;
}

/** The browser's session chunk names in order and the bytes they take in a Cookie header. */
function measure(browser: BrowserClient): { chunks: string[]; cookieBytes: number } {
  const chunks = browser.jar
    .all()
    .filter((c) => isSessionCookie(c.name))
    .sort((a, b) => chunkIndex(a.name) - chunkIndex(b.name));
  const header = chunks.map((c) => `${c.name}=${c.value}`).join('; ');
  return { chunks: chunks.map((c) => c.name), cookieBytes: Buffer.byteLength(header) };
}

/** Signs `login` in through /oauth2/start in `browser`; returns the callback's Set-Cookie lines. */
async function signInVia(stack: Stack, browser: BrowserClient, login: string, rd = '/'): Promise<string[]> {
  const { callbackUrl } = await browser.login(`${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent(rd)}`, login, { stopAtCallback: true });
  const callback = await browserGet(browser, callbackUrl);
  assert.equal(callback.status, 302, `the callback signs ${login} in`);
  return callback.setCookies;
}

/** Forgets the provider's cookies (same host, other port: the jar keys by host) so it asks who signs in next. */
function forgetProviderCookies(browser: BrowserClient): void {
  for (const c of browser.jar.all()) {
    if (!c.name.startsWith('authgate')) browser.jar.setCookie(`${c.name}=; Max-Age=0; Path=${c.path}`, `http://${c.domain}/`);
  }
}

/** Checks that the response clears every chunk beyond the first that `before` held, and only the first is left. */
function assertStaleChunksCleared(setCookies: string[], before: string[], browser: BrowserClient): void {
  const set = sessionSetCookies(setCookies);
  assert.ok(set.has('authgate'), 'the new session is written');
  for (const name of before.slice(1)) {
    const line = set.get(name);
    assert.ok(line, `${name} is cleared by the response (Set-Cookie: ${[...set.keys()].join(', ')})`);
    assert.match(line, /;\s*Max-Age=0\s*(;|$)/i, `${name} is cleared with Max-Age=0: ${line}`);
  }
  assert.deepEqual(measure(browser).chunks, ['authgate'], 'only the one session cookie is left in the browser');
}

describe('a session larger than one cookie (cookie store)', () => {
  let stack: Stack;
  let big: BrowserClient;
  let bigLoginSetCookies: Map<string, string>;

  before(async () => {
    stack = await startStack();
    stack.idp.addUser({ sub: 'many', email: 'many@example.com', preferredUsername: 'many', name: 'Many Groups', groups: MANY_GROUPS });
    stack.idp.addUser({ sub: 'some', email: 'some@example.com', preferredUsername: 'some', name: 'Random Groups', groups: RANDOM_GROUPS });
    big = stack.browser();
    bigLoginSetCookies = sessionSetCookies(await signInVia(stack, big, 'many'));
  });
  after(() => stack.close());

  it('keeps the 150-group session within every Set-Cookie limit and a default proxy header line', () => {
    for (const [name, line] of bigLoginSetCookies) {
      const bytes = Buffer.byteLength(`Set-Cookie: ${line}`);
      assert.ok(bytes < 4096, `${name}: the Set-Cookie line is ${bytes} bytes`);
    }
    const { cookieBytes } = measure(big);
    assert.ok(cookieBytes < PROXY_HEADER_LINE_LIMIT, `the Cookie header is ${cookieBytes} bytes`);
  });

  it('prints the cookie sizes of a normal user and of the 150-group user', async () => {
    const alice = await stack.signIn('alice');
    const small = measure(alice);
    const large = measure(big);
    console.log(`cookie store: alice: ${small.cookieBytes} bytes of Cookie header in ${small.chunks.length} chunk(s) (${small.chunks.join(', ')})`);
    console.log(`cookie store: 150 groups: ${large.cookieBytes} bytes of Cookie header in ${large.chunks.length} chunk(s) (${large.chunks.join(', ')})`);
    assert.deepEqual(small.chunks, ['authgate']);
  });

  it('joins the chunks back: the upstream gets all 150 groups and /oauth2/userinfo lists them', async () => {
    const response = await big.fetch(`${stack.publicUrl}/groups`, { headers: API });
    assert.equal(response.status, 200, `the signed-in 150-group user's next request: ${response.status} ${await response.text()}`);
    const forwarded = String(stack.upstream.last()?.headers['x-forwarded-groups'] ?? '').split(',');
    assert.deepEqual(forwarded, MANY_GROUPS);

    const userinfo = await big.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: API });
    assert.equal(userinfo.status, 200);
    const body = (await userinfo.json()) as { user: string; groups: string[] };
    assert.equal(body.user, 'many');
    assert.deepEqual(body.groups, MANY_GROUPS);
  });

  describe('a session larger than one cookie even compressed (60 random group names)', () => {
    let some: BrowserClient;
    before(async () => {
      some = stack.browser();
      await signInVia(stack, some, 'some');
    });

    it('joins the chunks back for the upstream and /oauth2/userinfo', async () => {
      const { chunks, cookieBytes } = measure(some);
      console.log(`cookie store: 60 random groups: ${cookieBytes} bytes of Cookie header in ${chunks.length} chunk(s)`);
      assert.ok(chunks.length >= 2, `expected several chunks, got ${chunks.join(', ')}`);
      assert.ok(chunks.length <= MAX_SESSION_CHUNKS, `at most ${MAX_SESSION_CHUNKS} chunks, got ${chunks.join(', ')}`);
      const response = await some.fetch(`${stack.publicUrl}/groups`, { headers: API });
      assert.equal(response.status, 200);
      assert.deepEqual(String(stack.upstream.last()?.headers['x-forwarded-groups'] ?? '').split(','), RANDOM_GROUPS);
      const userinfo = await some.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: API });
      assert.deepEqual(((await userinfo.json()) as { groups: string[] }).groups, RANDOM_GROUPS);
    });

    it('treats a missing middle chunk as signed out (401 for an API call, 302 for a page), never 5xx', async () => {
      assert.ok(some.jar.get('authgate_1'), 'the browser holds authgate_1');
      const header = some.jar
        .all()
        .filter((c) => isSessionCookie(c.name) && c.name !== 'authgate_1')
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      const response = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...API, cookie: header } });
      assert.equal(response.status, 401);
      const page = await fetch(`${stack.publicUrl}/page`, { headers: { accept: 'text/html', cookie: header }, redirect: 'manual' });
      assert.equal(page.status, 302, 'a browser navigation is sent to sign in');
    });

    it('clears the unused chunks when alice signs in next in the same browser', async () => {
      const before = measure(some).chunks;
      forgetProviderCookies(some);
      const setCookies = await signInVia(stack, some, 'alice', '/whoami');
      assertStaleChunksCleared(setCookies, before, some);
      const next = await some.fetch(`${stack.publicUrl}/whoami`, { headers: API });
      assert.equal(next.status, 200);
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    });
  });
});
