/**
 * RFC 9207: the authorization response names its issuer (`iss`). The test provider sends it and advertises
 * `authorization_response_iss_parameter_supported`, so a callback naming another issuer (a mix-up attack:
 * a code from another provider, played into this login) or none at all is refused before any code is
 * exchanged. openid-client's authorizationCodeGrant makes this check (oauth4webapi validateAuthResponse);
 * these tests prove it through the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { loginCount, signedIn } from './forged-login.js';

describe('the iss parameter of the authorization response', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const callbackWith = async (change: (url: URL) => void) => {
    const browser = stack.browser();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/`, 'alice', { stopAtCallback: true });
    const url = new URL(callbackUrl);
    assert.equal(url.searchParams.get('iss'), stack.idp.issuer, 'the provider sends iss');
    change(url);
    const tokenCalls = stack.idp.tokenRequests.length;
    const failed = await loginCount(stack, 'failed');
    const response = await browser.fetch(url);
    return { response, browser, tokenCalls: stack.idp.tokenRequests.length - tokenCalls, failed: (await loginCount(stack, 'failed')) - failed };
  };

  it('refuses a callback whose iss names another issuer, without calling the token endpoint', async () => {
    const { response, browser, tokenCalls, failed } = await callbackWith((url) => url.searchParams.set('iss', 'https://evil.example'));
    assert.equal(response.status, 400);
    assert.match(await response.text(), /could not be verified/);
    assert.equal(tokenCalls, 0, 'the code was never exchanged');
    assert.equal(failed, 1);
    assert.equal(browser.jar.get('authgate'), undefined);
    assert.equal(await signedIn(stack, browser), false);
  });

  it('refuses a callback whose iss differs only by a trailing slash', async () => {
    const { response, tokenCalls } = await callbackWith((url) => url.searchParams.set('iss', `${stack.idp.issuer}/`));
    assert.equal(response.status, 400);
    assert.equal(tokenCalls, 0);
  });

  it('refuses a callback without iss when the provider advertises it, without calling the token endpoint', async () => {
    const { response, browser, tokenCalls } = await callbackWith((url) => url.searchParams.delete('iss'));
    assert.equal(response.status, 400);
    assert.equal(tokenCalls, 0);
    assert.equal(await signedIn(stack, browser), false);
  });

  it('refuses an error response whose iss names another issuer, without showing its error text', async () => {
    const { response, tokenCalls, failed } = await callbackWith((url) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
      url.searchParams.set('error_description', 'planted by the other provider');
      url.searchParams.set('iss', 'https://evil.example');
    });
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /did not come from the expected identity provider/);
    assert.doesNotMatch(page, /planted by the other provider/);
    assert.equal(tokenCalls, 0);
    assert.equal(failed, 1);
  });

  it('shows the error of an error response from this provider (iss matches)', async () => {
    const { response } = await callbackWith((url) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
    });
    assert.equal(response.status, 401, 'a refusal at the provider is not an application 403');
    assert.match(await response.text(), /access_denied/);
  });

  it('accepts the callback as the provider sent it', async () => {
    const { response, browser, tokenCalls } = await callbackWith(() => undefined);
    assert.equal(response.status, 302);
    assert.equal(tokenCalls, 1);
    assert.equal(await signedIn(stack, browser), true);
  });
});
