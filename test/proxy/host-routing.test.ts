/**
 * Routing by Host and path prefix through the gateway: a host-specific upstream wins for its host, others
 * fall back to the any-host one; stripPrefix and preserveHost change what the upstream receives; an
 * upstream URL with a base path keeps it.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

/** GET with a chosen Host header (fetch does not allow setting Host). */
function getWithHost(base: string, path: string, host: string, cookie: string): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, headers: { host, cookie, accept: 'application/json' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('routing by host and prefix', () => {
  let stack: Stack;
  let other: StartedUpstream;
  let alice: BrowserClient;
  let cookie: string;
  before(async () => {
    other = await startUpstream();
    stack = await startStack({
      configure: (c) => {
        const main = c.upstreams[0].url;
        c.upstreams.push(
          { name: 'wiki-host', path: '/', host: 'wiki.example.test', url: other.url },
          { name: 'api', path: '/api/', url: other.url, stripPrefix: true },
          { name: 'kept-host', path: '/keep', url: other.url, preserveHost: true },
          { name: 'based', path: '/based', url: `${main}/base/` },
        );
      },
    });
    alice = await stack.signIn('alice');
    cookie = `authgate=${alice.jar.get('authgate')?.value}`;
  });
  after(async () => {
    await stack.close();
    await other.close();
  });

  it('sends a request for the configured host to its upstream, and other hosts to the any-host one', async () => {
    assert.equal(await getWithHost(stack.publicUrl, '/page', 'wiki.example.test:8443', cookie), 200);
    assert.equal(other.last()?.url, '/page');
    const otherCount = other.requests.length;
    assert.equal(await getWithHost(stack.publicUrl, '/page', 'app.example.test', cookie), 200);
    assert.equal(other.requests.length, otherCount, 'not sent to the host-specific upstream');
    assert.equal(stack.upstream.last()?.url, '/page');
  });

  it('stripPrefix removes the prefix; the upstream sees the rest (or "/")', async () => {
    await alice.fetch(`${stack.publicUrl}/api/v1/items?id=3`, { headers: { accept: 'application/json' } });
    assert.equal(other.last()?.url, '/v1/items?id=3');
    await alice.fetch(`${stack.publicUrl}/api`, { headers: { accept: 'application/json' } });
    assert.equal(other.last()?.url, '/');
  });

  it('sends the upstream its own Host, or the client Host with preserveHost', async () => {
    await alice.fetch(`${stack.publicUrl}/keep/x`, { headers: { accept: 'application/json' } });
    assert.equal(other.last()?.headers.host, new URL(stack.publicUrl).host);
    await alice.fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json' } });
    assert.equal(stack.upstream.last()?.headers.host, new URL(stack.upstream.url).host);
  });

  it("keeps the upstream URL's base path", async () => {
    await alice.fetch(`${stack.publicUrl}/based/report`, { headers: { accept: 'application/json' } });
    assert.equal(stack.upstream.last()?.url, '/base/based/report');
  });
});
