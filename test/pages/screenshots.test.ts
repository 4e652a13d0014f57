/**
 * Each page in headless Chromium: the real flows reach them (a policy denial, a cancel at the provider, the
 * provider's token endpoint failing, an unreachable application, sign-out), a PNG of each is written to
 * test-artifacts/screenshots/ (kept as artefacts, never compared pixel by pixel), and the test asserts what
 * the page says as a user sees it. The sign-in page is reached on a gateway with two real providers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { freePort, ROOT, startStack, type Stack } from '../helpers/gateway.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';

const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('pages in a real browser', () => {
  let stack: Stack;
  let browser: TestBrowser;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const closedPort = await freePort(); // nothing listens there: the application is unreachable
    [stack, browser] = await Promise.all([
      startStack({
        configure: (tree) => {
          tree.pages = { title: 'Acme Portal', footer: 'Need help? it-help@acme.example' };
          tree.upstreams = [
            { name: 'admin', path: '/admin', url: tree.upstreams[0]?.url, allow: { groups: ['admins'] } },
            { name: 'billing', path: '/billing', url: `http://127.0.0.1:${closedPort}` },
            ...tree.upstreams,
          ];
        },
      }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Signs `login` in through the provider's login and consent pages, starting at `path`. */
  async function signIn(page: Page, login: string, path: string): Promise<void> {
    await page.goto(`${stack.publicUrl}${path}`);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.origin === stack.publicUrl);
  }

  /** Writes the page's screenshot, checks it is a PNG, and returns the text a user sees. */
  async function shoot(page: Page, name: string): Promise<string> {
    const file = join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.deepEqual(readFileSync(file).subarray(0, 8), PNG_SIGNATURE, `${file} is a PNG`);
    return page.locator('body').innerText();
  }

  it('error-403.png: a policy denial names the user and the ways on', async () => {
    const page = await browser.newPage();
    await signIn(page, 'bob', '/home');
    const response = await page.goto(`${stack.publicUrl}/admin/settings`);
    assert.equal(response?.status(), 403);
    const text = await shoot(page, 'error-403');
    assert.match(text, /403 Access denied/);
    assert.match(text, /your account is not allowed to use this application/);
    assert.match(text, /Signed in as bob \(bob@example\.org\)\./);
    assert.match(text, /Sign in again\s+Sign in as someone else\s+Go to the home page/);
    assert.match(text, /Request id: \S+/);
    assert.match(text, /Need help\? it-help@acme\.example/);
    assert.equal(await page.getByRole('link', { name: 'Sign in again' }).getAttribute('href'), '/oauth2/start?rd=%2Fadmin%2Fsettings');
  });

  it('error-502.png: an unreachable application offers a retry', async () => {
    const page = await browser.newPage();
    await signIn(page, 'alice', '/home');
    const response = await page.goto(`${stack.publicUrl}/billing/invoices`);
    assert.equal(response?.status(), 502);
    const text = await shoot(page, 'error-502');
    assert.match(text, /502 Application unavailable/);
    assert.match(text, /You are still signed in/);
    assert.match(text, /Signed in as alice/);
    assert.equal(await page.getByRole('link', { name: 'Try again' }).getAttribute('href'), '/billing/invoices');
  });

  it('provider-denied.png: a cancel at the provider, with "Sign in again" to the original target', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.publicUrl}/reports/q3`);
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.waitForURL((url) => url.origin === stack.publicUrl && url.pathname === '/oauth2/callback');
    const text = await shoot(page, 'provider-denied');
    assert.match(text, /401 Sign-in cancelled/);
    assert.match(text, /The sign-in was cancelled or refused at the identity provider, so you are not signed in\./);
    assert.match(text, /The identity provider said: access_denied \(End-User aborted interaction\)/);
    assert.doesNotMatch(text, /Signed in as/);
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${stack.publicUrl}/reports/q3`);
  });

  it('error-503.png: the provider failing at sign-in', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.publicUrl}/reports/q4`);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    stack.idp.failTokenEndpoint('drop'); // the token endpoint unreachable
    try {
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((url) => url.origin === stack.publicUrl && url.pathname === '/oauth2/callback');
    } finally {
      stack.idp.failTokenEndpoint(null);
    }
    const text = await shoot(page, 'error-503');
    assert.match(text, /503 Sign-in service unavailable/);
    assert.match(text, /The sign-in service is not reachable right now/);
    assert.equal(await page.getByRole('link', { name: 'Try again' }).getAttribute('href'), '/oauth2/start?rd=%2Freports%2Fq4');
  });

  it('signed_out.png: the landing after sign-out', async () => {
    const page = await browser.newPage();
    await signIn(page, 'alice', '/home');
    await page.goto(`${stack.publicUrl}/oauth2/sign_out`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${stack.publicUrl}/oauth2/signed_out`);
    const text = await shoot(page, 'signed_out');
    assert.match(text, /You are signed out/);
    assert.match(text, /You have been signed out of Acme Portal\./);
    assert.equal(await page.getByRole('link', { name: 'Sign in again' }).getAttribute('href'), '/oauth2/start?rd=%2F');
  });

  it('sign_in.png: one button per provider, each starting at its provider', async () => {
    let two: TwoProviderStack | undefined;
    try {
      two = await startTwoProviders({
        configure: (tree) => {
          tree.pages = { title: 'Acme Portal', footer: 'Need help? it-help@acme.example' };
          const [staff, partners] = tree.providers ?? [];
          if (staff) staff.name = 'Staff';
          if (partners) partners.name = 'Partners';
        },
      });
      const page = await browser.newPage();
      await page.goto(`${two.publicUrl}/wiki/start`);
      assert.equal(new URL(page.url()).pathname, '/oauth2/sign_in');
      const text = await shoot(page, 'sign_in');
      assert.match(text, /Sign in\s+Choose how you want to sign in\.\s+Staff\s+Partners/);
      assert.match(text, /After signing in you go on to \/wiki\/start\./);
      assert.match(text, /Request id: \S+/);
      await page.getByRole('link', { name: 'Partners' }).click();
      await page.waitForURL((url) => url.origin === two?.partners.issuer);
    } finally {
      await two?.close();
    }
  });

  it('loaded nothing from outside the machine', () => {
    assert.deepEqual(browser.blockedRequests.filter((url) => !url.startsWith('https://fonts.')), []);
  });
});
