/**
 * Step-up in a real browser (headless Chromium), with the gateway as a FAPI 2.0 client: every
 * authorization request pushed (PAR required), the client authenticated by private_key_jwt (the provider
 * fetches the gateway's /oauth2/jwks) and the tokens DPoP-bound. alice signs in with a password, opens a
 * route that asks for urn:example:mfa, meets the provider's login page again, and lands on the very page
 * she asked for with her session upgraded (new id, same sign-in time, acr from the new ID token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { testKey } from '../helpers/client-keys.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import type { ConfigTree, Stack, StackOptions } from '../helpers/gateway.js';
import { ACR_MFA, ACR_PASSWORD, sessionOf, startStepUpStack } from '../login/step-up-fixtures.js';

const CLIENT_KEY = testKey('p256');
const DPOP_KEY = testKey('p256');

/** The gateway's client settings: PAR required, private_key_jwt, DPoP with a configured key. */
function configureGateway(c: ConfigTree): void {
  c.oidc.clientAuthMethod = 'private_key_jwt';
  delete c.oidc.clientSecret;
  c.oidc.clientPrivateKey = CLIENT_KEY.pkcs8;
  c.oidc.pushedAuthorizationRequests = 'required';
  c.oidc.dpop = true;
  c.oidc.dpopKey = DPOP_KEY.pkcs8;
}

/** The provider's side: PAR required of every client, this client registered by its jwks_uri, tokens bound. */
const STACK_OPTIONS: StackOptions = {
  idp: { par: 'required' },
  clientAuthMethod: 'private_key_jwt',
  client: (publicUrl) => ({ clientSecret: undefined, jwksUri: `${publicUrl}/oauth2/jwks` }),
};

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

    // What the provider recorded: only pushed requests reached its authorization endpoint, every client
    // request carried a private_key_jwt assertion by the gateway's key, and every token is bound to its DPoP key.
    const idp = stack.idp;
    assert.ok(idp.authorizationGets.length >= 2);
    for (const get of idp.authorizationGets) assert.deepEqual([...get.keys()].sort(), ['client_id', 'request_uri']);
    const pushes = idp.clientRequests.filter((r) => r.endpoint === 'par');
    assert.equal(pushes.length, idp.authorizationGets.length, 'one push per authorization request');
    const clientKid = await calculateJwkThumbprint(CLIENT_KEY.publicKey);
    for (const r of idp.clientRequests) {
      assert.equal(r.authMethod, 'private_key_jwt', `${r.endpoint} ${r.grantType}`);
      assert.equal(r.clientAssertion?.header.kid, clientKid);
    }
    const dpopJkt = await calculateJwkThumbprint(DPOP_KEY.publicKey);
    assert.ok(idp.dpop.issuedAccessTokens.length >= 2);
    for (const t of idp.dpop.issuedAccessTokens) assert.equal(t.jkt, dpopJkt);
    assert.equal(idp.authorizationRequests.at(-1)?.get('dpop_jkt'), dpopJkt);
    const pushProofs = idp.dpop.proofs.filter((p) => p.path === '/request');
    assert.equal(pushProofs.length, pushes.length, 'every push carried a DPoP proof');
    for (const p of pushProofs) assert.equal(p.jkt, dpopJkt);
    // The app behind saw the bound token presented with a proof by the same key.
    const seen = stack.upstream.last()?.headers ?? {};
    assert.match(String(seen.authorization), /^DPoP /);
    assert.equal(decodeJwt(String(seen.dpop)).htm, 'GET');

    // No more trips to the provider for this route.
    await page.goto(`${stack.publicUrl}/mfa/other`);
    assert.equal(new URL(page.url()).pathname, '/mfa/other');
    assert.equal(stack.idp.stepUp.logins.length, logins + 1);
    assert.deepEqual(browser.blockedRequests, []);
  });
});
