/**
 * An upstream that refuses connections gets a 502 page (JSON for API calls), one that is too slow a 504;
 * the gateway logs it and keeps serving everything else, and the session survives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startStack, type Stack } from '../helpers/gateway.js';

describe('upstream outages', () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    const deadPort = await freePort(); // nothing listens there
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push(
          { name: 'dead', path: '/dead', url: `http://127.0.0.1:${deadPort}` },
          { name: 'slow', path: '/slow', url: c.upstreams[0].url, timeout: '300ms' },
        );
      },
    });
    alice = await stack.signIn('alice');
  });
  after(() => stack.close());

  it('answers 502 with a short page when the upstream refuses connections', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/dead/page`);
    assert.equal(response.status, 502);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    assert.match(html, /502<\/span> Application unavailable/);
    assert.doesNotMatch(html, /ECONNREFUSED|at .*\.js/, 'no internals in the page');
  });

  it('answers 502 JSON to an API call', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/dead/api`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 502);
    assert.equal(((await response.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE');
  });

  it('answers 504 when the upstream does not answer within its timeout', async () => {
    stack.upstream.hold('/slow/x'); // never released: the upstream does not answer
    const response = await alice.fetch(`${stack.publicUrl}/slow/x`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 504);
    assert.equal(((await response.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_TIMEOUT');
  });

  it('keeps serving other upstreams and the same session afterwards, and logged the failure', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/fine`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    const entries = stack.gateway.logEntries();
    assert.ok(entries.some((e) => e.msg === 'upstream unavailable' && e.upstream === 'dead'));
    assert.ok(entries.some((e) => e.msg === 'request' && e.upstream === 'dead' && e.status === 502));
  });
});
