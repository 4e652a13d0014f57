/**
 * A token endpoint that fails while a user signs in (a 503 with an OAuth error body, or a dropped
 * connection) is an outage: the user gets a 503 page saying to try again, not a page saying the sign-in could
 * not be verified, and the login counts as `unavailable`. Real provider, real HTTP.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { loginCount } from './forged-login.js';

describe('a token endpoint down at sign-in', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  afterEach(() => stack.idp.failTokenEndpoint(null));
  after(() => stack.close());

  for (const mode of ['http-503', 'drop'] as const) {
    it(`answers a 503 page when the token endpoint fails (${mode}), and the next login works`, async () => {
      const browser = stack.browser();
      const { callbackUrl } = await browser.login(`${stack.publicUrl}/report`, 'alice', { stopAtCallback: true });
      const unavailable = await loginCount(stack, 'unavailable');
      stack.idp.failTokenEndpoint(mode);
      const answer = await browser.fetch(callbackUrl, { headers: { accept: 'text/html' } });
      assert.equal(answer.status, 503);
      assert.doesNotMatch(await answer.text(), /could not be verified/);
      assert.equal(await loginCount(stack, 'unavailable'), unavailable + 1);

      stack.idp.failTokenEndpoint(null);
      const again = await browser.login(`${stack.publicUrl}/report`, 'alice');
      assert.equal(again.response?.status, 200);
    });
  }
});
