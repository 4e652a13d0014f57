/**
 * Sign-out clears the session and, because the provider has an end_session_endpoint, continues with
 * RP-initiated logout carrying id_token_hint and a same-origin post_logout_redirect_uri.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';

describe('sign out', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('clears the session cookie and redirects to the provider with id_token_hint', async () => {
    const browser = await stack.signIn('alice');
    const response = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/bye`);
    assert.equal(response.status, 302);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('authgate='));
    assert.ok(cleared && /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(cleared));
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin, stack.idp.issuer);
    assert.match(location.searchParams.get('id_token_hint') ?? '', /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${stack.publicUrl}/bye`);
    assert.equal(location.searchParams.get('client_id'), TEST_CLIENT_ID);
    const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 401);
  });

  it('ends the session at the provider too: the next visit asks for the login form again', async () => {
    const browser = await stack.signIn('bob');
    const { response, visited } = await browser.logout(`${stack.publicUrl}/oauth2/sign_out?rd=/`);
    // Back at the gateway's "/", which, signed out everywhere, sends the browser to the provider's login form.
    assert.ok(visited.includes(`${stack.publicUrl}/`), visited.join(' -> '));
    assert.ok(visited.at(-1)?.startsWith(`${stack.idp.issuer}/interaction/`));
    assert.match(await response.text(), /name="login"/, 'the provider shows its login form, not a silent re-login');
  });

  it('without rd, lands on the signed-out page after the provider', async () => {
    const browser = await stack.signIn('bob');
    const first = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out`);
    const location = new URL(first.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${stack.publicUrl}/oauth2/signed_out`);
    const { response, visited } = await browser.logout(location);
    assert.equal(visited.at(-1), `${stack.publicUrl}/oauth2/signed_out`, visited.join(' -> '));
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /You are signed out/);
    assert.match(html, /href="\/oauth2\/start\?rd&#x3D;%2F"/);
  });

  it('accepts POST and refuses an off-site rd', async () => {
    const browser = await stack.signIn('alice');
    const response = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=https://evil.example/`, { method: 'POST' });
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${stack.publicUrl}/`);
  });

  it('without a session and without rd, goes straight to the signed-out page', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/sign_out`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/oauth2/signed_out');
  });

  it('without a session, just redirects to rd', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/bye`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/bye');
  });
});
