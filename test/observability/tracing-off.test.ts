/**
 * Tracing off (the default): the OpenTelemetry SDK is not loaded, nothing is added to what goes upstream, and
 * a client's own `traceparent` and `tracestate` pass through untouched, as they always did.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

/**
 * The OpenTelemetry SDK packages loaded so far: they are CommonJS, so whatever loaded one left it in the
 * require cache. The API package is not counted: prom-client loads it anyway (for exemplars).
 */
const loadedOpenTelemetrySdk = () =>
  Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('/@opentelemetry/') && !path.includes('/@opentelemetry/api/'));

describe('tracing off', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('loads none of the OpenTelemetry SDK', async () => {
    const alice = await stack.signIn('alice');
    assert.equal((await alice.fetch(`${stack.publicUrl}/untraced`, { headers: { accept: 'application/json' } })).status, 200);
    assert.equal(stack.gateway.gateway.services.tracing, undefined);
    assert.deepEqual(loadedOpenTelemetrySdk(), []);
  });

  it('adds no traceparent upstream', async () => {
    const alice = await stack.signIn('alice');
    assert.equal((await alice.fetch(`${stack.publicUrl}/untraced/plain`, { headers: { accept: 'application/json' } })).status, 200);
    const seen = stack.upstream.requests.find((r) => r.url === '/untraced/plain');
    assert.ok(seen, 'the upstream got the request');
    assert.equal(seen.headers.traceparent, undefined);
    assert.equal(seen.headers.tracestate, undefined);
  });

  it("passes a client's traceparent and tracestate through unchanged", async () => {
    const alice = await stack.signIn('alice');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const response = await alice.fetch(`${stack.publicUrl}/untraced/client`, {
      headers: { accept: 'application/json', traceparent, tracestate: 'vendor=client' },
    });
    assert.equal(response.status, 200);
    const seen = stack.upstream.requests.find((r) => r.url === '/untraced/client');
    assert.equal(seen?.headers.traceparent, traceparent);
    assert.equal(seen?.headers.tracestate, 'vendor=client');
  });
});
