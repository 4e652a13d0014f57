/**
 * A session cookie that is tampered with, truncated, sealed under an unknown key, sealed for another
 * purpose, or past its timeouts (judged from inside the sealed data) means "signed out": a browser is sent
 * to the provider, an API client gets 401, never a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OTHER_SESSION_KEY, startStack, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';

describe('session cookie integrity', () => {
  let stack: Stack;
  let validCookie: string;
  let validSession: Record<string, unknown>;
  before(async () => {
    stack = await startStack({ configure: (c) => (c.session.idleTimeout = '30m') });
    const browser = await stack.signIn('alice');
    validCookie = browser.jar.get('authgate')?.value ?? '';
    const opened = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(validCookie);
    assert.ok(opened, 'the test can open the cookie it was given');
    validSession = opened.data;
  });
  after(() => stack.close());

  const asApi = (cookie: string) =>
    fetch(`${stack.publicUrl}/data`, { headers: { accept: 'application/json', cookie: `authgate=${cookie}` } });
  const asBrowser = (cookie: string) =>
    fetch(`${stack.publicUrl}/page`, { headers: { accept: 'text/html', cookie: `authgate=${cookie}` }, redirect: 'manual' });

  it('accepts the untouched cookie', async () => {
    const response = await asApi(validCookie);
    assert.equal(response.status, 200);
  });

  const variants: Array<[string, () => string]> = [
    ['one character changed', () => validCookie.slice(0, 10) + (validCookie[10] === 'A' ? 'B' : 'A') + validCookie.slice(11)],
    // The untouched cookie was just accepted, so its session is cached under its nonce: a cookie with the same
    // nonce and another ciphertext must still be opened (and refused), not served from the cache.
    ['the same nonce after a changed ciphertext', () => {
      // Not the last character before the dot: its low bits may be base64 padding, which decodes to the same bytes.
      const at = validCookie.indexOf('.') - 2;
      return validCookie.slice(0, at) + (validCookie[at] === 'A' ? 'B' : 'A') + validCookie.slice(at + 1);
    }],
    ['truncated', () => validCookie.slice(0, Math.floor(validCookie.length / 2))],
    ['nonce removed', () => validCookie.split('.')[0] ?? ''],
    ['garbage', () => 'not-a-session'],
    ['empty', () => ''],
    ['percent junk', () => '%E0%A4%A'],
  ];
  for (const [name, make] of variants) {
    it(`treats a cookie with ${name} as signed out (401 API, 302 browser)`, async () => {
      const api = await asApi(make());
      assert.equal(api.status, 401);
      assert.deepEqual(await api.json(), { error: 'unauthenticated' });
      const page = await asBrowser(make());
      assert.equal(page.status, 302);
      assert.ok(page.headers.get('location')?.startsWith(stack.idp.issuer));
    });
  }

  it('treats a session sealed under a key the gateway does not have as signed out', async () => {
    const foreign = (await sealBoxesFor([OTHER_SESSION_KEY], stack)).session.seal(validSession);
    assert.equal((await asApi(foreign)).status, 401);
  });

  it('does not accept a login-transaction document as a session (separate keys per purpose)', async () => {
    const crossPurpose = (await sealBoxesFor([TEST_SESSION_KEY], stack)).transaction.seal(validSession);
    assert.equal((await asApi(crossPurpose)).status, 401);
  });

  it('enforces the idle timeout from the sealed lastSeenAt, whatever the cookie says', async () => {
    const box = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session;
    const idle = box.seal({ ...validSession, lastSeenAt: Date.now() - 31 * 60_000 });
    const response = await asApi(idle);
    assert.equal(response.status, 401);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('authgate='));
    assert.ok(cleared && /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(cleared), 'the dead cookie is cleared');
  });

  it('enforces the absolute timeout from the sealed createdAt', async () => {
    const box = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session;
    const old = box.seal({ ...validSession, createdAt: Date.now() - 13 * 3_600_000, lastSeenAt: Date.now() });
    assert.equal((await asApi(old)).status, 401);
  });

  it('signs out a session whose access token has expired when it has no refresh token', async () => {
    const box = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session;
    const tokens = validSession.tokens as Record<string, unknown>;
    const expired = box.seal({ ...validSession, tokens: { ...tokens, refreshToken: undefined, expiresAt: Date.now() - 1000 } });
    assert.equal((await asApi(expired)).status, 401);
  });

  it('accepts a session whose shape it wrote, and refuses a sealed document of another shape', async () => {
    const box = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session;
    assert.equal((await asApi(box.seal({ ...validSession }))).status, 200);
    assert.equal((await asApi(box.seal({ v: 2, id: 'x' }))).status, 401);
    assert.equal((await asApi(box.seal({ ...validSession, identity: { sub: 'alice' } }))).status, 401);
  });
});

describe('session cookie attributes on https', () => {
  let stack: Stack;
  before(async () => {
    // TLS is terminated in front of the gateway: publicUrl is https while the test talks http to the port.
    stack = await startStack({ configure: (c) => (c.server.publicUrl = c.server.publicUrl.replace('http:', 'https:')) });
  });
  after(() => stack.close());

  it('uses __Host- transaction and session cookies, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const httpBase = stack.publicUrl;
    const start = await fetch(`${httpBase}/oauth2/start`, { redirect: 'manual' });
    const txHeader = start.headers.getSetCookie()[0] ?? '';
    assert.match(txHeader, /^__Host-authgate_tx_[A-Za-z0-9_-]{16}=/);
    assert.match(txHeader, /; Secure/);
    assert.match(txHeader, /; HttpOnly/);
    assert.match(txHeader, /; SameSite=Lax/);
    assert.match(txHeader, /; Path=\/(;|$)/);
    const location = new URL(start.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('redirect_uri'), `${httpBase.replace('http:', 'https:')}/oauth2/callback`);

    // Finish that login by hand: the provider redirects to https://…/oauth2/callback, which we send over http.
    const browser = stack.browser();
    browser.jar.setCookie(txHeader, httpBase.replace('http:', 'https:'));
    const { callbackUrl } = await browser.login(location, 'alice', { stopAtCallback: true });
    const tx = txHeader.split(';')[0] ?? '';
    const callback = await fetch(callbackUrl.replace('https:', 'http:'), { headers: { cookie: tx }, redirect: 'manual' });
    assert.equal(callback.status, 302);
    const session = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-authgate='));
    assert.ok(session, 'the session cookie is named __Host-authgate');
    assert.match(session, /; Path=\/(;|$)/);
    assert.match(session, /; Secure/);
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Lax/);
    assert.doesNotMatch(session, /; Domain=/i, '__Host- cookies carry no Domain');
  });
});
