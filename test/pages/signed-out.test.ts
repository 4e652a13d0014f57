/**
 * GET /oauth2/signed_out is the landing after sign-out, and "No, stay signed in" at the provider keeps the
 * provider's session. The gateway's own session ends before the browser goes to the provider: oidc-provider
 * (like most providers) sends the browser to post_logout_redirect_uri whether the user confirms or declines,
 * and on a decline still revokes this client's grant (its refresh and access tokens), so the gateway
 * could neither tell the two apart nor keep a session whose tokens are gone. What "stay signed in" keeps is
 * the provider's session: signing in again asks for no password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { parseForms } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { actionsOf, requestIdOf } from './page-fixtures.js';

describe('signed out', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: (tree) => (tree.pages = { title: 'Acme Portal', footer: 'Help: it@example.com' }) });
  });
  after(() => stack.close());

  const signedIn = async (browser: BrowserClient) =>
    (await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } })).status === 200;

  it('says "You are signed out" with a sign-in link, the branding and a request id', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/signed_out`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const html = await response.text();
    assert.match(html, /<h1>You are signed out<\/h1>/);
    assert.match(html, /You have been signed out of Acme Portal\./);
    assert.match(html, /<footer>Help: it@example\.com<\/footer>/);
    assert.equal(actionsOf(html).get('/oauth2/start?rd&#x3D;%2F'), 'Sign in again');
    assert.ok(requestIdOf(html));
  });

  it('"No, stay signed in" at the provider lands on the signed-out page and keeps the provider session', async () => {
    const browser = await stack.signIn('bob');
    const toProvider = await browser.follow(`${stack.publicUrl}/oauth2/sign_out`);
    assert.equal(await signedIn(browser), false, 'the gateway session ends at once, whatever happens at the provider');
    const pageUrl = toProvider.visited.at(-1) ?? '';
    const form = parseForms(await toProvider.response.text(), pageUrl).find((f) => f.id === 'op.logoutForm');
    assert.ok(form, `the provider asks whether to sign out (at ${pageUrl})`);
    // The "No, stay signed in" button submits the form without logout=yes.
    const declined = await browser.follow(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form.fields).toString(),
    });
    assert.equal(declined.visited.at(-1), `${stack.publicUrl}/oauth2/signed_out`, declined.visited.join(' -> '));
    assert.match(await declined.response.text(), /You are signed out/);

    // Signing in again needs no password: the provider session stayed (it asks to consent again, as it
    // revoked this client's grant).
    const again = await browser.follow(`${stack.publicUrl}/private`);
    const prompts = parseForms(await again.response.text(), again.visited.at(-1) ?? '').map((f) => f.fields.prompt);
    assert.ok(!prompts.includes('login'), `no login form: ${again.visited.join(' -> ')}`);
    const result = await browser.login(again.visited.at(-1) ?? '', 'ignored');
    assert.equal(result.response?.status, 200);
    assert.equal(await signedIn(browser), true);
  });

  it('"Yes, sign me out" ends the provider session too: the next sign-in asks for the login form', async () => {
    const browser = await stack.signIn('bob');
    const out = await browser.logout(`${stack.publicUrl}/oauth2/sign_out`);
    assert.equal(out.visited.at(-1), `${stack.publicUrl}/oauth2/signed_out`);
    const again = await browser.follow(`${stack.publicUrl}/private`);
    const prompts = parseForms(await again.response.text(), again.visited.at(-1) ?? '').map((f) => f.fields.prompt);
    assert.ok(prompts.includes('login'), again.visited.join(' -> '));
  });
});
