/**
 * The whole login through a real provider: a signed-out navigation goes to the provider with PKCE S256,
 * state and nonce; the callback exchanges the code with client_secret_basic; the app then receives the
 * bearer token and identity headers; /oauth2/userinfo answers for the session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';

describe('login through a real provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('sends a signed-out navigation to the provider with PKCE S256, state, nonce and the redirect URI', async () => {
    const browser = stack.browser();
    const response = await browser.fetch(`${stack.publicUrl}/reports?year=2026`);
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin, stack.idp.issuer);
    assert.equal(location.searchParams.get('response_type'), 'code');
    assert.equal(location.searchParams.get('client_id'), TEST_CLIENT_ID);
    assert.equal(location.searchParams.get('redirect_uri'), `${stack.publicUrl}/oauth2/callback`);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.match(location.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(location.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43,}$/);
    assert.match(location.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{43,}$/);
    assert.ok(location.searchParams.get('scope')?.split(' ').includes('openid'));
    const tx = browser.jar.all().find((c) => c.name.startsWith('authgate_tx_'));
    assert.ok(tx, 'a login transaction cookie is set');
    assert.equal(tx.httpOnly, true);
    assert.equal(tx.path, '/', 'Path=/ so the next login start sees it (the cap on open logins)');
    assert.equal(tx.sameSite?.toLowerCase(), 'lax');
  });

  it('signs in, lands on the original URL, and the app receives the token and identity headers', async () => {
    const browser = stack.browser();
    const { response, visited } = await browser.login(`${stack.publicUrl}/reports?year=2026`, 'alice');
    assert.equal(response?.status, 200);
    assert.equal(visited.at(-1), `${stack.publicUrl}/reports?year=2026`);

    const seen = stack.upstream.last();
    assert.ok(seen);
    assert.equal(seen.url, '/reports?year=2026');
    assert.match(String(seen.headers.authorization), /^Bearer [A-Za-z0-9_.-]{20,}$/);
    assert.equal(seen.headers['x-forwarded-user'], 'alice');
    assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal(seen.headers['x-forwarded-preferred-username'], 'alice');
    assert.equal(seen.headers['x-forwarded-groups'], 'admins,staff');

    const grants = stack.idp.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.equal(grants.at(-1)?.authMethod, 'client_secret_basic');
    assert.equal(grants.at(-1)?.status, 200);

    const session = browser.jar.get('authgate');
    assert.ok(session, 'the session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.path, '/');
    assert.equal(session.sameSite?.toLowerCase(), 'lax');
    assert.equal(session.secure, false, 'http publicUrl: no Secure attribute');
    assert.equal(browser.jar.all().some((c) => c.name.startsWith('authgate_tx_')), false, 'the transaction cookie is gone');
  });

  it('answers /oauth2/userinfo for the session and 401 without one', async () => {
    const browser = await stack.signIn('bob');
    const mine = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(mine.status, 200);
    assert.deepEqual(await mine.json(), { user: 'bob', email: 'bob@example.org', preferredUsername: 'bob', groups: ['staff'], provider: 'default' });

    const anonymous = await fetch(`${stack.publicUrl}/oauth2/userinfo`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { error: 'unauthenticated' });
  });

  it('gives each login a new session cookie (no fixation)', async () => {
    const browser = await stack.signIn('alice');
    const first = browser.jar.get('authgate')?.value;
    await browser.login(`${stack.publicUrl}/oauth2/start?rd=/again`, 'alice');
    const second = browser.jar.get('authgate')?.value;
    assert.ok(first && second);
    assert.notEqual(first, second);
    const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 200);
  });

  it('lets two tabs log in at once: each callback finds its own transaction', async () => {
    const browser = stack.browser();
    const tabA = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=/tab-a`);
    const tabB = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=/tab-b`);
    assert.equal(tabA.status, 302);
    assert.equal(tabB.status, 302);
    assert.equal(browser.jar.all().filter((c) => c.name.startsWith('authgate_tx_')).length, 2);
    const a = await browser.login(tabA.headers.get('location') ?? '', 'alice');
    assert.equal(a.visited.at(-1), `${stack.publicUrl}/tab-a`);
    const b = await browser.login(tabB.headers.get('location') ?? '', 'alice');
    assert.equal(b.visited.at(-1), `${stack.publicUrl}/tab-b`);
  });
});
