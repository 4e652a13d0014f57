/**
 * The callback refuses everything that is not the answer to this browser's own login: a bad or missing
 * state, a replay, a provider error (shown HTML-escaped), a code from someone else's login. Each is a 4xx
 * page and leaves no session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('callback failures', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const userinfo = (browser: BrowserClient) =>
    browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } }).then((r) => r.status);

  it('refuses a callback whose state matches no login transaction of this browser', async () => {
    const browser = stack.browser();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/`, 'alice', { stopAtCallback: true });
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'x'.repeat(43));
    const response = await browser.fetch(forged);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /expired or was already used/);
    assert.equal(await userinfo(browser), 401);
  });

  it('refuses a callback with no state at all', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/callback?code=abc`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
  });

  it('is single-use: replaying the same callback URL fails and does not replace the session', async () => {
    const browser = stack.browser();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/first`, 'alice', { stopAtCallback: true });
    const first = await browser.fetch(callbackUrl);
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), '/first');
    const sessionCookie = browser.jar.get('authgate')?.value;
    assert.ok(sessionCookie);

    const replay = await browser.fetch(callbackUrl);
    assert.equal(replay.status, 400);
    assert.equal(browser.jar.get('authgate')?.value, sessionCookie, 'the replay neither replaced nor cleared the session');
    assert.equal(await userinfo(browser), 200);
  });

  it("refuses a callback carried to another browser (an attacker's code in a victim's browser)", async () => {
    const attacker = stack.browser();
    const { callbackUrl } = await attacker.login(`${stack.publicUrl}/`, 'bob', { stopAtCallback: true });
    const grantsBefore = stack.idp.tokenRequests.length;
    const victim = stack.browser();
    await victim.fetch(`${stack.publicUrl}/oauth2/start?rd=/inbox`); // the victim has a login of its own in progress
    const response = await victim.fetch(callbackUrl);
    assert.equal(response.status, 400);
    assert.equal(await userinfo(victim), 401);
    assert.equal(stack.idp.tokenRequests.length, grantsBefore, "the attacker's code was never exchanged");
  });

  it('shows a provider error HTML-escaped as 401 (not 403), keeps the target, and consumes the transaction', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=/reports/q3`);
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const evil = '<script>alert(1)</script>';
    // The provider advertises RFC 9207, so its error responses name it too.
    const callback = `${stack.publicUrl}/oauth2/callback?state=${state}&error=access_denied&error_description=${encodeURIComponent(evil)}&iss=${encodeURIComponent(stack.idp.issuer)}`;
    const response = await browser.fetch(callback);
    assert.equal(response.status, 401);
    const html = await response.text();
    assert.ok(!html.includes(evil), 'the description is not echoed raw');
    assert.ok(html.includes('&lt;script&gt;'), 'the description is shown escaped');
    assert.match(html, /cancelled or refused at the identity provider/);
    assert.ok(html.includes('href="/oauth2/start?rd&#x3D;%2Freports%2Fq3"'), 'sign in again keeps the original target');
    assert.equal(browser.jar.all().some((c) => c.name.startsWith('authgate_tx_')), false);

    const again = await browser.fetch(callback);
    assert.equal(again.status, 400, 'the same state cannot be used twice');
  });

  it('refuses a code that the provider does not accept (invalid_grant) with a 400 page', async () => {
    const browser = stack.browser();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/`, 'alice', { stopAtCallback: true });
    const bad = new URL(callbackUrl);
    bad.searchParams.set('code', 'not-a-real-code');
    const response = await browser.fetch(bad);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /refused the sign-in/);
    assert.equal(await userinfo(browser), 401);
  });

  it('answers JSON to API clients that hit the callback', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/callback?state=abc&code=def`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string };
    assert.equal(body.error, 'AUTHGATE_ERR_LOGIN_EXPIRED');
  });
});
