/**
 * The demo in a real browser (headless Chromium): the branded sign-in page offers Staff and Partners; alice
 * signs in through Staff and opens the staff-only /admin, and the banner's admin curl lines list her session
 * and end it; bob meets the branded 403 page; pat signs in through Partners, is sent to Staff's provider on
 * /admin, and signs out at Partners onto the branded signed-out page. The stack is demo/run.ts's own
 * `startDemo` on free ports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { demoBanner, startDemo, type RunningDemo } from '../../demo/run.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/gateway.js';

const TEST_TIMEOUT_MS = 60_000;

/** The session cookie over http (`__Host-authgate` on https) and its chunks `authgate_1`, `authgate_2`, …. */
const SESSION_COOKIE = /^authgate(_\d+)?$/;

/** A curl line of the banner: `curl -s [-X DELETE] -H "NAME: VALUE" "URL"`. */
const CURL_LINE = /^\s*curl -s (?:-X (\w+) )?-H "([^:"]+): ([^"]+)" "([^"]+)"$/;

describe('the demo in a real browser', () => {
  let demo: RunningDemo;
  let browser: TestBrowser;
  /** What `before` started, closed in `after` even when the other half failed to start. */
  const started: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    const [gatewayPort, idpPort, partnersPort, appPort, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    // Launching Chromium and starting the stack are independent; do both at once, and keep whichever
    // started so `after` closes it even when the other failed.
    const keep = <T extends { close(): Promise<void> }>(value: T): T => {
      started.push(value);
      return value;
    };
    [demo, browser] = await Promise.all([
      startDemo({ gatewayPort, idpPort, partnersPort, appPort, adminPort, quiet: true }).then(keep),
      launchBrowser().then(keep),
    ]);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  /** The issuer of a demo provider by id. */
  const issuer = (provider: 'staff' | 'partners') => demo.idpUrls[provider] ?? assert.fail(`no provider ${provider}`);

  /** Waits for `provider`'s login form, signs in as `login` with any password, and confirms the consent page. */
  async function signInAtProvider(page: Page, provider: 'staff' | 'partners', login: string): Promise<void> {
    await waitForLoginForm(page, provider);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password will do');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    // The gateway asks for offline_access, and with it prompt=consent: the provider always shows consent.
    await page.waitForURL((url) => url.origin === issuer(provider) && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  /** Asserts the page is `provider`'s login form (not consent, not an automatic sign-in). */
  async function waitForLoginForm(page: Page, provider: 'staff' | 'partners'): Promise<void> {
    await page.waitForURL((url) => url.origin === issuer(provider) && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
    assert.equal(await text(page, 'h1'), 'Sign-in');
    assert.equal(await page.locator('input[name="login"]').isVisible(), true);
  }

  /** Asserts the page is one of demo/pages/ with config/demo.yaml's title, logo (loaded) and footer. */
  async function assertBranded(page: Page, heading: string): Promise<void> {
    const { pages } = demo.config;
    assert.equal(await page.title(), `${heading} · ${pages.title}`);
    assert.equal(await text(page, 'header .product'), pages.title);
    assert.equal(await text(page, 'footer'), pages.footer);
    const logo = page.locator('header img');
    assert.equal(await logo.getAttribute('src'), pages.logo);
    // Loaded through the gateway's public /brand route, before anyone signed in.
    await page.waitForFunction("(() => { const img = document.querySelector('header img'); return img.complete && img.naturalWidth > 0; })()");
    assert.match(await text(page, '.request-id'), /^Request id: \S+$/);
  }

  /** Runs the banner's curl line for `method` with fetch, as a user pasting it would. */
  async function runBannerCurl(method: 'GET' | 'DELETE'): Promise<Response> {
    const lines = demoBanner(demo).split('\n').flatMap((line) => {
      const match = CURL_LINE.exec(line);
      return match ? [{ method: match[1] ?? 'GET', header: match[2] ?? '', value: match[3] ?? '', url: match[4] ?? '' }] : [];
    });
    assert.deepEqual(lines.map((l) => l.method), ['GET', 'DELETE'], 'the banner lists and ends sessions');
    const line = lines.find((l) => l.method === method) ?? assert.fail(`no ${method} line`);
    assert.equal(new URL(line.url).hostname, '127.0.0.1', 'the admin API is on this machine only');
    return fetch(line.url, { method, headers: { [line.header]: line.value } });
  }

  it('offers Staff and Partners; alice signs in through Staff, opens /admin, and the admin lines end her session', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    const context = page.context();
    await explainFailure(demo, page, async () => {
      await page.goto(`${demo.url}/`);
      await page.waitForURL(`${demo.url}/oauth2/sign_in?rd=%2F`);
      await assertBranded(page, 'Sign in');
      assert.equal(await text(page, 'h1'), 'Welcome');
      const buttons = page.locator('ul.choices a');
      assert.deepEqual(await buttons.allTextContents(), ['Sign in with Staff', 'Sign in with Partners']);
      assert.deepEqual(await Promise.all((await buttons.all()).map((link) => link.getAttribute('data-provider'))), ['staff', 'partners']);

      await page.getByRole('link', { name: 'Sign in with Staff' }).click();
      await signInAtProvider(page, 'staff', 'alice');
      await page.waitForURL(`${demo.url}/`);
      assert.equal(await text(page, 'h1'), 'Legacy app');
      assert.equal(await text(page, '#user'), 'Signed in as alice (alice@example.com)');
      assert.equal(await text(page, '#groups'), 'admins, staff');
      assert.equal(await text(page, '#provider'), 'Signed in through staff');
      assert.match(await text(page, '#bearer'), /^Bearer token received: /);

      const session = (await context.cookies(demo.url)).find((c) => c.name === 'authgate');
      assert.ok(session, 'the session cookie is set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');

      const admin = await page.goto(`${demo.url}/admin`);
      assert.equal(admin?.status(), 200);
      assert.equal(await text(page, '#path'), '/admin');
      assert.equal(await text(page, '#user'), 'Signed in as alice (alice@example.com)');

      // The banner's first admin line lists her session (Redis), or says why not (cookie store: 501).
      const listed = await runBannerCurl('GET');
      if (demo.config.session.store === 'redis') {
        assert.equal(listed.status, 200);
        const { sessions } = (await listed.json()) as { sessions: Array<{ user: string; email: string; provider: string; userAgent: string | null }> };
        assert.equal(sessions.length, 1, 'alice has one session');
        assert.equal(sessions[0]?.user, 'alice');
        assert.equal(sessions[0]?.email, 'alice@example.com');
        assert.equal(sessions[0]?.provider, 'staff');
        assert.match(sessions[0]?.userAgent ?? '', /Chrome/, 'the browser that signed in');
      } else {
        assert.equal(listed.status, 501);
        await listed.body?.cancel();
      }

      // The second ends it: her next request finds no session, and the sign-in page is back.
      const ended = await runBannerCurl('DELETE');
      assert.equal(ended.status, 200);
      const { revoked } = (await ended.json()) as { revoked: number };
      assert.equal(revoked, demo.config.session.store === 'redis' ? 1 : 0);
      await page.goto(`${demo.url}/`);
      await page.waitForURL(`${demo.url}/oauth2/sign_in?rd=%2F`);
      assert.equal(await text(page, 'h1'), 'Welcome');
      // /admin takes her through Staff's provider again (whose own session still knows her).
      const again = await page.goto(`${demo.url}/admin`);
      const hops: string[] = [];
      for (let request = again?.request() ?? null; request; request = request.redirectedFrom()) hops.unshift(new URL(request.url()).origin);
      assert.equal(hops[0], demo.url);
      assert.ok(hops.includes(issuer('staff')), `a new sign-in at Staff: ${hops.join(' → ')}`);
    });
    await context.close();
  });

  it('sends bob straight to Staff for /admin, and shows him the branded 403 page there', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    await explainFailure(demo, page, async () => {
      // /admin accepts Staff only: no sign-in page, straight to Staff's provider, then back to /admin.
      await page.goto(`${demo.url}/admin`);
      await signInAtProvider(page, 'staff', 'bob');
      await page.waitForURL(`${demo.url}/admin`);
      await assertBranded(page, 'Access denied');
      assert.equal(await text(page, 'h1'), '403 Access denied');
      assert.match(await text(page, '.user'), /^You are signed in as bob \(bob@example\.org\)\.$/);
      assert.equal(await page.locator('#user').count(), 0, 'the legacy app is not shown');

      const home = await page.goto(`${demo.url}/`);
      assert.equal(home?.status(), 200);
      assert.equal(await text(page, '#user'), 'Signed in as bob (bob@example.org)');
      assert.equal(await text(page, '#groups'), 'staff');
    });
    await page.context().close();
  });

  it('signs pat in through Partners, sends him to Staff on /admin, and signs him out at Partners', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await browser.newPage();
    const context = page.context();
    await explainFailure(demo, page, async () => {
      // /partners accepts Partners only: straight to Partners' provider.
      await page.goto(`${demo.url}/partners`);
      await signInAtProvider(page, 'partners', 'pat');
      await page.waitForURL(`${demo.url}/partners`);
      assert.equal(await text(page, '#user'), 'Signed in as pat (pat@partner.example)');
      assert.equal(await text(page, '#provider'), 'Signed in through partners');
      const home = await page.goto(`${demo.url}/`);
      assert.equal(home?.status(), 200);
      assert.equal(await text(page, '#user'), 'Signed in as pat (pat@partner.example)');

      // A Partners session counts as none on the staff-only /admin: the browser goes to Staff's login.
      await page.goto(`${demo.url}/admin`);
      await waitForLoginForm(page, 'staff');

      // His Partners session is still there; sign-out goes to Partners' provider, then the branded page.
      await page.goto(`${demo.url}/partners`);
      assert.equal(await text(page, '#user'), 'Signed in as pat (pat@partner.example)');
      await page.locator('#sign-out').click();
      await page.waitForURL((url) => url.origin === issuer('partners') && url.pathname.startsWith('/session/end'));
      const confirm = page.getByRole('button', { name: 'Yes, sign me out' });
      await confirm.waitFor();
      await confirm.click();
      await page.waitForURL(`${demo.url}/oauth2/signed_out`);
      await assertBranded(page, 'Signed out');
      assert.equal(await text(page, 'h1'), 'You are signed out');
      const left = (await context.cookies()).filter((c) => SESSION_COOKIE.test(c.name));
      assert.deepEqual(left.map((c) => c.name), [], 'no session cookie is left');

      // Signed out at Partners too: the next visit asks for the login again.
      await page.goto(`${demo.url}/partners`);
      await waitForLoginForm(page, 'partners');
    });
    await context.close();
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
