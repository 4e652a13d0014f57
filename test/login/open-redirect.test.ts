/**
 * After login the browser goes back only to the gateway's own origin: every off-site `rd` given to
 * /oauth2/start ends the login on "/" instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('post-login redirect targets', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const landing = async (rd: string) => {
    const browser = stack.browser();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent(rd)}`, 'alice', { stopAtCallback: true });
    const response = await browser.fetch(callbackUrl);
    assert.equal(response.status, 302);
    return response.headers.get('location');
  };

  for (const rd of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'https://127.0.0.1.evil.example/', 'javascript:alert(1)', '/\t/evil.example']) {
    it(`sends rd=${JSON.stringify(rd)} to "/"`, async () => {
      assert.equal(await landing(rd), '/');
    });
  }

  it('keeps a same-origin path with its query and fragment', async () => {
    assert.equal(await landing('/reports?y=2026#top'), '/reports?y=2026#top');
  });

  it('accepts an absolute URL on the public origin and keeps only its path', async () => {
    assert.equal(await landing(`${stack.publicUrl}/inbox?id=7`), '/inbox?id=7');
  });
});
