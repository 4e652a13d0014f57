/**
 * The demo in a real browser (headless Chromium): sign in at the provider's login and consent pages, land on
 * the legacy app with the identity the gateway forwarded, see the group policy on /admin, and sign out at
 * both the gateway and the provider. The stack is demo/run.ts's own `startDemo` on free ports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startDemo, type RunningDemo } from '../../demo/run.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/gateway.js';

const TEST_TIMEOUT_MS = 60_000;

/** The session cookie over http (`__Host-authgate` on https) and its chunks `authgate_1`, `authgate_2`, …. */
const SESSION_COOKIE = /^authgate(_\d+)?$/;

describe('the demo in a real browser', () => {
  let demo: RunningDemo;
  let browser: TestBrowser;
  /** What `before` started, closed in `after` even when the other half failed to start. */
  const started: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    const [gatewayPort, idpPort, appPort] = await Promise.all([freePort(), freePort(), freePort()]);
    // Launching Chromium and starting the stack are independent; do both at once, and keep whichever
    // started so `after` closes it even when the other failed.
    const keep = <T extends { close(): Promise<void> }>(value: T): T => {
      started.push(value);
      return value;
    };
    [demo, browser] = await Promise.all([startDemo({ gatewayPort, idpPort, appPort, quiet: true }).then(keep), launchBrowser().then(keep)]);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  /** Waits for the provider's login form, signs in as `login` with any password, and confirms the consent page. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await waitForLoginForm(page);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password will do');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    // The gateway asks for offline_access, and with it prompt=consent: the provider always shows consent.
    await page.waitForURL((url) => url.origin === demo.idpUrl && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  /** Asserts the page is the provider's login form (not consent, not an automatic sign-in). */
  async function waitForLoginForm(page: Page): Promise<void> {
    await page.waitForURL((url) => url.origin === demo.idpUrl && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
    assert.equal(await text(page, 'h1'), 'Sign-in');
    assert.equal(await page.locator('input[name="login"]').isVisible(), true);
  }

  it('signs alice in, lets her into /admin, and signs her out at the gateway and the provider', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    const context = page.context();
    await explainFailure(demo, page, async () => {
      await page.goto(`${demo.url}/`);
      await signInAtProvider(page, 'alice');

      await page.waitForURL(`${demo.url}/`);
      assert.equal(await text(page, 'h1'), 'Legacy app');
      assert.equal(await text(page, '#user'), 'Signed in as alice (alice@example.com)');
      assert.equal(await text(page, '#groups'), 'admins, staff');
      assert.equal(await text(page, '#path'), '/');
      assert.match(await text(page, '#bearer'), /^Bearer token received: /);

      const session = (await context.cookies(demo.url)).find((c) => c.name === 'authgate');
      assert.ok(session, 'the session cookie is set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(session.path, '/');

      const admin = await page.goto(`${demo.url}/admin`);
      assert.equal(admin?.status(), 200);
      assert.equal(await text(page, 'h1'), 'Legacy app');
      assert.equal(await text(page, '#path'), '/admin');
      assert.equal(await text(page, '#user'), 'Signed in as alice (alice@example.com)');

      // Sign out: the gateway ends its session, then sends the browser to the provider's end-session page.
      await page.locator('#sign-out').click();
      await page.waitForURL((url) => url.origin === demo.idpUrl && url.pathname.startsWith('/session/end'));
      const confirm = page.getByRole('button', { name: 'Yes, sign me out' });
      await confirm.waitFor();
      // After the confirmation the provider returns to the gateway's signed-out page.
      await confirm.click();
      await page.waitForURL(`${demo.url}/oauth2/signed_out`);
      assert.equal(await text(page, 'h1'), 'You are signed out');

      const left = (await context.cookies()).filter((c) => SESSION_COOKIE.test(c.name));
      assert.deepEqual(left.map((c) => c.name), [], 'no session cookie is left');

      // Signed out at the provider too: a new visit asks for the login again rather than signing straight in.
      await page.goto(`${demo.url}/`);
      await waitForLoginForm(page);
      const again = await page.goto(`${demo.url}/admin`);
      assert.equal(new URL(again?.url() ?? '').origin, demo.idpUrl, '/admin is not served to the signed-out browser');
      await waitForLoginForm(page);
    });
    await context.close();
  });

  it('signs bob in: / works, /admin answers 403 (he is not in admins)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    await explainFailure(demo, page, async () => {
      // Start at /admin: after the sign-in the gateway returns him there, and the policy refuses him.
      await page.goto(`${demo.url}/admin`);
      await signInAtProvider(page, 'bob');
      await page.waitForURL(`${demo.url}/admin`);
      assert.equal(await text(page, 'h1'), '403 Access denied');
      assert.equal(await page.locator('#user').count(), 0, 'the legacy app is not shown');

      const home = await page.goto(`${demo.url}/`);
      assert.equal(home?.status(), 200);
      assert.equal(await text(page, '#user'), 'Signed in as bob (bob@example.org)');
      assert.equal(await text(page, '#groups'), 'staff');

      const admin = await page.goto(`${demo.url}/admin`);
      assert.equal(admin?.status(), 403);
      assert.equal(await text(page, 'h1'), '403 Access denied');
      assert.match(await text(page, 'body'), /not allowed/);
    });
    await page.context().close();
  });

  it('loaded nothing from outside this machine', () => {
    assert.deepEqual(browser.blockedRequests, []);
  });
});

/** The trimmed text of the first element matching `selector`. */
async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}

/** Runs `steps`; when they fail, adds where the page was and the gateway's last log lines to the error. */
async function explainFailure(demo: RunningDemo, page: Page, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (err) {
    const body = await page.content().catch(() => '(page content unavailable)');
    const detail = [
      `page: ${page.url()}`,
      `html: ${body.replace(/\s+/g, ' ').slice(0, 1500)}`,
      'gateway log (last 20 lines):',
      ...demo.logs.slice(-20),
    ].join('\n');
    if (err instanceof Error) {
      err.message += `\n${detail}`;
      throw err;
    }
    throw new Error(`${String(err)}\n${detail}`);
  }
}
