/**
 * Sign-out from another site needs a confirmation (logout CSRF). A request a browser says came from
 * another origin (Sec-Fetch-Site cross-site or same-site, or, without it, an Origin that is not the
 * gateway's) gets a 200 page with a POST form ("Sign out", rd kept and HTML-escaped) and the session
 * stays; GET and POST alike. Same-origin and user-typed requests (`none`), and requests with neither
 * header (curl, scripts), sign out as before. Submitting the confirmation signs out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseForms, type BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

const API = { accept: 'application/json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('sign-out from another site', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const signedIn = async (browser: BrowserClient) =>
    (await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: API })).status === 200;

  const elsewhere: Array<[string, Record<string, string>, 'GET' | 'POST']> = [
    ['GET with Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 'GET'],
    ['GET with Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }, 'GET'],
    ['POST with Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }, 'POST'],
    ['POST with Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }, 'POST'],
    ['GET with Sec-Fetch-Site: cross-site and our own Origin', { 'sec-fetch-site': 'cross-site', origin: 'SELF' }, 'GET'],
    ['GET without Sec-Fetch-Site, Origin of another site', { origin: 'http://evil.example' }, 'GET'],
    ['POST without Sec-Fetch-Site, Origin of another site', { origin: 'https://127.0.0.1.evil.example' }, 'POST'],
    ['POST without Sec-Fetch-Site, Origin: null (sandboxed or privacy-sensitive context)', { origin: 'null' }, 'POST'],
  ];
  for (const [name, headers, method] of elsewhere) {
    it(`asks for confirmation: ${name}`, async () => {
      const browser = await stack.signIn('alice');
      const rd = "/after?x=1&y='<b>\"";
      const sent = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'SELF' ? stack.publicUrl : v]));
      const response = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=${encodeURIComponent(rd)}`, { method, headers: sent });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.deepEqual(response.headers.getSetCookie(), [], 'no cookie is cleared');
      const html = await response.text();
      assert.doesNotMatch(html, /<b>/, 'rd is HTML-escaped');
      assert.match(html, /<button type="submit">Sign out<\/button>/);
      const [form] = parseForms(html, `${stack.publicUrl}/oauth2/sign_out`);
      assert.ok(form, 'the page holds a form');
      assert.equal(form.method, 'POST');
      assert.equal(form.action, `${stack.publicUrl}/oauth2/sign_out`);
      assert.equal(new URL(form.fields.rd ?? '', stack.publicUrl).href, new URL(rd, stack.publicUrl).href, 'rd is kept');
      assert.ok(await signedIn(browser), 'the user is still signed in');
    });
  }

  const direct: Array<[string, Record<string, string>, 'GET' | 'POST']> = [
    ['GET with Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }, 'GET'],
    ['POST with Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin', origin: 'SELF' }, 'POST'],
    ['GET with Sec-Fetch-Site: none (typed or bookmarked)', { 'sec-fetch-site': 'none' }, 'GET'],
    ['POST without Sec-Fetch-Site, our own Origin', { origin: 'SELF' }, 'POST'],
    ['GET with neither header (curl)', {}, 'GET'],
    ['POST with neither header (a script)', {}, 'POST'],
  ];
  for (const [name, headers, method] of direct) {
    it(`signs out at once: ${name}`, async () => {
      const browser = await stack.signIn('bob');
      const sent = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'SELF' ? stack.publicUrl : v]));
      const response = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/bye`, { method, headers: sent });
      assert.equal(response.status, 302);
      assert.equal(new URL(response.headers.get('location') ?? '').origin, stack.idp.issuer, 'on to the provider');
      assert.equal(await signedIn(browser), false, 'signed out');
    });
  }

  it('signs out when the user confirms: the form posts rd back and the session ends', async () => {
    const browser = await stack.signIn('alice');
    const page = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/bye`, { headers: { 'sec-fetch-site': 'cross-site' } });
    const [form] = parseForms(await page.text(), `${stack.publicUrl}/oauth2/sign_out`);
    assert.ok(form);
    const confirmed = await browser.fetch(form.action, {
      method: 'POST',
      headers: { ...FORM, 'sec-fetch-site': 'same-origin', origin: stack.publicUrl },
      body: new URLSearchParams(form.fields).toString(),
    });
    assert.equal(confirmed.status, 302);
    const location = new URL(confirmed.headers.get('location') ?? '');
    assert.equal(location.origin, stack.idp.issuer);
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${stack.publicUrl}/bye`, 'rd from the form');
    assert.equal(await signedIn(browser), false);
  });
});
