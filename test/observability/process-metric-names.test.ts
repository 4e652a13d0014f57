/**
 * Process and Node.js metrics keep their conventional names on GET /metrics (process_cpu_seconds_total,
 * nodejs_eventloop_lag_seconds, …), so standard dashboards and alerts find them; only the gateway's own
 * series carry the `authgate_` prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

const CONVENTIONAL = [
  'process_cpu_seconds_total',
  'process_cpu_user_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_version_info',
];

describe('process metric names', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('serves the process and Node.js series under their conventional names, none under authgate_', async () => {
    const response = await fetch(`${stack.publicUrl}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    for (const name of CONVENTIONAL) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is declared`);
      assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), `${name} has a sample`);
    }
    assert.doesNotMatch(text, /^(# (TYPE|HELP) )?authgate_(process|nodejs)_/m, 'no prefixed process or Node.js series');
    assert.match(text, /^# TYPE authgate_http_requests_total counter/m, 'the gateway series keep their prefix');
  });
});
