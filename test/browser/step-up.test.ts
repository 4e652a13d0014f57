/**
 * Step-up in a real browser (headless Chromium): alice signs in with a password, opens a route that asks
 * for urn:example:mfa, meets the provider's login page again, and lands on the very page she asked for with
 * her session upgraded (new id, same sign-in time, acr from the new ID token). The gateway's configuration is
 * built in one place (`configureGateway`), so the same flow can run with other client settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import type { ConfigTree, Stack, StackOptions } from '../helpers/gateway.js';
import { ACR_MFA, ACR_PASSWORD, sessionOf, startStepUpStack } from '../login/step-up-fixtures.js';

/** The gateway's client settings for this test, in one place (PAR, private_key_jwt or DPoP go here). */
function configureGateway(_c: ConfigTree): void {}

/** The stack's options besides the configuration above (the provider's side of the same settings). */
const STACK_OPTIONS: StackOptions = {};

describe('step-up in a real browser', () => {
  let stack: Stack;
  let browser: TestBrowser;
  const started: Array<{ close(): Promise<void> }> = [];

  before(async () => {
    const keep = <T extends { close(): Promise<void> }>(value: T): T => {
      started.push(value);
      return value;
    };
    [stack, browser] = await Promise.all([startStepUpStack({ ...STACK_OPTIONS, configure: configureGateway }).then(keep), launchBrowser().then(keep)]);
  });
  after(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  const atGateway = (url: URL) => url.origin === stack.publicUrl;

  /** Fills the provider's login form as `login`, confirms consent if asked, and waits to be back at the gateway. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL((url) => url.origin === stack.idp.issuer && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password will do');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.locator('input[name="prompt"][value="consent"]');
    await Promise.race([page.waitForURL(atGateway), consent.waitFor({ state: 'attached' })]);
    if (!atGateway(new URL(page.url()))) {
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(atGateway);
    }
  }

  const cookieHeader = async (page: Page) =>
    (await page.context().cookies(stack.publicUrl)).map((c) => `${c.name}=${c.value}`).join('; ');

  it('signs in, then reaches a step-up route through the provider\'s login page again, upgraded in place', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.publicUrl}/`);
    await signInAtProvider(page, 'alice');
    assert.equal(stack.idp.stepUp.logins.at(-1)?.acr, ACR_PASSWORD);
    const before = await sessionOf(stack, await cookieHeader(page));
    assert.ok(before, 'signed in');
    assert.equal(before.acr, undefined);

    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    const logins = stack.idp.stepUp.logins.length;
    await page.goto(`${stack.publicUrl}/mfa/page?q=1`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(`${stack.publicUrl}/mfa/page?q=1`);
    assert.equal(stack.idp.stepUp.logins.length, logins + 1, 'the provider showed its login page again');
    assert.equal(stack.idp.authorizationRequests.at(-1)?.get('acr_values'), ACR_MFA);
    assert.match((await page.textContent('body')) ?? '', /"url":"\/mfa\/page\?q=1"/);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');

    const after = await sessionOf(stack, await cookieHeader(page));
    assert.ok(after);
    assert.notEqual(after.id, before.id);
    assert.equal(after.createdAt, before.createdAt);
    assert.equal(after.acr, ACR_MFA);

    // No more trips to the provider for this route.
    await page.goto(`${stack.publicUrl}/mfa/other`);
    assert.equal(new URL(page.url()).pathname, '/mfa/other');
    assert.equal(stack.idp.stepUp.logins.length, logins + 1);
    assert.deepEqual(browser.blockedRequests, []);
  });
});
