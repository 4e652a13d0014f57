/**
 * The app's own redirects reach the browser as the app wrote them: a relative Location stays relative to the
 * public URL (the gateway's internal routing never shows in it), and an absolute one is passed unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

describe("the upstream's redirects", () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startStack();
    alice = await stack.signIn('alice');
  });
  after(() => stack.close());

  const redirectTo = async (location: string) => {
    const response = await alice.fetch(`${stack.publicUrl}/redirect?to=${encodeURIComponent(location)}`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(stack.upstream.last()?.url, `/redirect?to=${encodeURIComponent(location)}`, 'the app answered it');
    return response.headers.get('location');
  };

  for (const location of ['/after-post', '/deep/page?x=1#top', 'relative/page', '../up', '?only=query']) {
    it(`passes the relative Location ${location} unchanged`, async () => {
      assert.equal(await redirectTo(location), location);
    });
  }

  it('passes an absolute Location unchanged', async () => {
    assert.equal(await redirectTo('https://elsewhere.example/x?y=1'), 'https://elsewhere.example/x?y=1');
    assert.equal(await redirectTo(`${stack.publicUrl}/home`), `${stack.publicUrl}/home`);
  });

  it('the browser that follows a relative redirect reaches the app at that path', async () => {
    const location = await redirectTo('/landing');
    const response = await alice.fetch(new URL(location ?? '', stack.publicUrl).href, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { url: string }).url, '/landing');
  });
});
