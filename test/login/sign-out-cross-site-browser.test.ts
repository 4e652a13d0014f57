/**
 * Logout CSRF in a real browser (headless Chromium). The gateway is http://127.0.0.1:PORT; a page on another
 * site, http://localhost:OTHER, sends the signed-in user to /oauth2/sign_out three ways: an auto-submitted
 * POST form, a script navigation and a link the user clicks. Each time Chromium itself says where the request
 * came from (Sec-Fetch-Site: cross-site), the gateway shows its confirmation page, and the user stays signed
 * in; clicking "Sign out" on that page signs out.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/gateway.js';

const TEST_TIMEOUT_MS = 60_000;

/** The other site: three pages that each send the browser to the gateway's sign-out. */
function otherSite(signOutUrl: string): Server {
  const pages: Record<string, string> = {
    '/auto-post': `<form id="f" method="post" action="${signOutUrl}"><input type="hidden" name="rd" value="/bye"></form><script>document.getElementById('f').submit()</script>`,
    '/auto-get': `<script>location.href = ${JSON.stringify(`${signOutUrl}?rd=/bye`)}</script>`,
    '/link': `<a id="go" href="${signOutUrl}?rd=/bye">A prize for you</a>`,
  };
  return createServer((req, res) => {
    const body = pages[req.url ?? ''];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Other site</title>${body ?? ''}`);
  });
}

describe('sign-out from another site in a real browser', () => {
  let stack: Stack;
  let browser: TestBrowser;
  let site: Server;
  let siteUrl: string;

  before(async () => {
    [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
    site = otherSite(`${stack.publicUrl}/oauth2/sign_out`);
    // Every address (IPv4 and IPv6), so "localhost" answers whichever the browser tries first.
    await new Promise<void>((resolve) => site.listen(0, resolve));
    siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await stack?.close();
  });

  /** Signs `login` in at the gateway through the provider's login and consent pages. */
  async function signIn(page: Page, login: string): Promise<void> {
    await page.goto(`${stack.publicUrl}/home`);
    await page.waitForURL((url) => url.origin === stack.idp.issuer && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.waitForURL((url) => url.origin === stack.idp.issuer && url.pathname.startsWith('/interaction/'));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${stack.publicUrl}/home`);
  }

  /** The gateway's answer to an API call with the browser's cookies: 200 signed in, 401 signed out. */
  async function userinfoStatus(page: Page): Promise<number> {
    const response = await page.context().request.get(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    return response.status();
  }

  /** Waits for the gateway's confirmation page and checks what it says. */
  async function expectConfirmation(page: Page): Promise<void> {
    await page.waitForURL((url) => url.origin === stack.publicUrl && url.pathname === '/oauth2/sign_out');
    assert.equal(((await page.locator('h1').textContent()) ?? '').trim(), 'Sign out?');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 1);
  }

  it('keeps the user signed in, whatever the other site does, until they confirm', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    const gatewayLog = () => stack.gateway.logs.slice(-10).join('\n');
    try {
      await signIn(page, 'alice');
      assert.equal(await userinfoStatus(page), 200, 'signed in');

      for (const path of ['/auto-post', '/auto-get']) {
        await page.goto(`${siteUrl}${path}`);
        await expectConfirmation(page);
        assert.equal(await userinfoStatus(page), 200, `still signed in after ${path}`);
      }

      await page.goto(`${siteUrl}/link`);
      await page.locator('#go').click();
      await expectConfirmation(page);
      assert.equal(await userinfoStatus(page), 200, 'still signed in after following the link');
      assert.ok((await page.context().cookies(stack.publicUrl)).some((c) => c.name === 'authgate'), 'the session cookie is kept');

      // The user confirms: a same-origin POST; the gateway ends the session and goes on to the provider.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.origin === stack.idp.issuer);
      assert.equal(await userinfoStatus(page), 401, 'signed out');
      assert.ok(!(await page.context().cookies(stack.publicUrl)).some((c) => c.name === 'authgate'), 'the session cookie is gone');
    } catch (err) {
      const html = await page.content().catch(() => '');
      throw new Error(`${(err as Error).message}\npage: ${page.url()}\nhtml: ${html.slice(0, 1000)}\ngateway log:\n${gatewayLog()}`, { cause: err });
    } finally {
      await page.context().close();
    }
  });
});
