/**
 * server.metricsListen: /metrics moves to its own address (not served on the main listener), with request,
 * login, policy, provider-latency and process series.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startCliStack, type CliStack } from '../helpers/gateway.js';

describe('metrics on their own listener', () => {
  let stack: CliStack;
  let metricsUrl: string;
  before(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    stack = await startCliStack({ configure: (c) => (c.server = { ...c.server, metricsListen: `127.0.0.1:${port}` }) });
    const alice = new BrowserClient();
    await alice.login(`${stack.publicUrl}/dashboard`, 'alice');
  });
  after(() => stack.close());

  it('does not serve /metrics on the main listener (404)', async () => {
    const response = await fetch(`${stack.publicUrl}/metrics`, { redirect: 'manual', headers: { accept: 'application/json' } });
    assert.equal(response.status, 404);
  });

  it('serves Prometheus text with the gateway series on metricsListen', async () => {
    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    const text = await response.text();
    for (const series of [
      /authgate_http_requests_total\{upstream="app",status="200"\} [1-9]/,
      /authgate_http_request_duration_seconds_bucket\{le="0.005",upstream="app"\}/,
      /authgate_logins_total\{outcome="success",provider="default"\} 1/,
      /authgate_policy_decisions_total\{upstream="app",reason="unauthenticated"\} [1-9]/,
      /authgate_provider_request_duration_seconds_count\{operation="code_grant",provider="default"\} 1/,
      /authgate_provider_request_duration_seconds_count\{operation="discovery",provider="default"\} [1-9]/,
      /^process_cpu_seconds_total \d/m,
      /^nodejs_heap_size_used_bytes \d/m,
    ]) {
      assert.match(text, series);
    }
  });
});
