/**
 * /ping, /ready and /metrics answer as the contract says, and gateway paths shadow upstream paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('health and metrics endpoints', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('answers /ping with 200 OK, without a session', async () => {
    const response = await fetch(`${stack.publicUrl}/ping`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'OK');
  });

  it('answers /ready with 200 once the provider is loaded and the store answers', async () => {
    const response = await fetch(`${stack.publicUrl}/ready`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ready: true, provider: true, providersMissing: [], sessionStore: true, shuttingDown: false });
  });

  it('turns /ready to 503 when shutdown begins', async () => {
    stack.gateway.gateway.beginShutdown();
    const response = await fetch(`${stack.publicUrl}/ready`);
    assert.equal(response.status, 503);
  });

  it('serves Prometheus metrics with request counts, logins and process metrics', async () => {
    await stack.signIn('alice');
    const response = await fetch(`${stack.publicUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /authgate_http_requests_total\{upstream="app",status="200"\} [1-9]/);
    assert.match(text, /authgate_logins_total\{outcome="success",provider="default"\} 1/);
    assert.match(text, /authgate_provider_requests_total\{operation="code_grant",outcome="success",provider="default"\} 1/);
    assert.match(text, /authgate_http_request_duration_seconds_bucket/);
    assert.match(text, /^process_resident_memory_bytes \d/m);
  });

  it('never proxies the gateway paths to the upstream', async () => {
    const before = stack.upstream.requests.length;
    for (const path of ['/ping', '/ready', '/metrics', '/oauth2/userinfo', '/oauth2/nope']) await fetch(`${stack.publicUrl}${path}`);
    assert.equal(stack.upstream.requests.length, before);
  });
});
