/**
 * Bad requests get the right 4xx from the gateway itself: an encoded slash or backslash in the path is 400,
 * oversized headers are 431, and path tricks reach the upstream only in their normalised form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { rawGet } from '../helpers/raw-http.js';

describe('request limits and normalisation through the gateway', () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push({ name: 'public', path: '/public', url: c.upstreams[0].url, auth: 'public' });
      },
    });
    alice = await stack.signIn('alice');
  });
  after(() => stack.close());

  for (const target of ['/public/..%2fsecret', '/public/%2F', '/a%5Cb', '/x%00y', '/public/..;/secret', '/public/%2e%2e;x/secret']) {
    it(`refuses ${target} with 400`, async () => {
      const { status } = await rawGet(stack.publicUrl, target, { accept: 'application/json' });
      assert.equal(status, 400);
    });
  }

  it('routes /public/../secret to the protected upstream (401), never the public one', async () => {
    const before = stack.upstream.requests.length;
    const { status } = await rawGet(stack.publicUrl, '/public/%2e%2e/secret', { accept: 'application/json' });
    assert.equal(status, 401);
    assert.equal(stack.upstream.requests.length, before);
  });

  it('sends the upstream the normalised path and the query untouched', async () => {
    const cookie = `authgate=${alice.jar.get('authgate')?.value}`;
    const { status } = await rawGet(stack.publicUrl, '/a/./b/../c//d?x=%20y&z', { accept: 'application/json', cookie });
    assert.equal(status, 200);
    assert.equal(stack.upstream.last()?.url, '/a/c/d?x=%20y&z');
  });

  it("does not pass the upstream's hop-by-hop Keep-Alive terms to the client", async () => {
    const direct = await fetch(`${stack.upstream.url}/ka`);
    assert.equal(direct.headers.get('keep-alive'), 'timeout=5', 'the upstream states its own keep-alive terms');
    const via = await alice.fetch(`${stack.publicUrl}/ka`, { headers: { accept: 'application/json' } });
    assert.equal(via.status, 200);
    assert.notEqual(via.headers.get('keep-alive'), 'timeout=5', "the client sees the gateway's terms, not the upstream's");
  });

  it('answers 431 to oversized request headers', async () => {
    const { status } = await rawGet(stack.publicUrl, '/ping', { 'x-big': 'a'.repeat(20_000) });
    assert.equal(status, 431);
  });

  it('answers an unknown /oauth2/ path with 404, not a proxy', async () => {
    const { status } = await rawGet(stack.publicUrl, '/oauth2/unknown', { accept: 'application/json' });
    assert.equal(status, 404);
  });
});
