/**
 * One log line per request: an allowed proxied request writes exactly one line (the request line with its
 * fields), whatever the proxy library would log on its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('request log lines', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('writes exactly one line for an allowed proxied request', async () => {
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/one-line?token=abc`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    const entries = stack.gateway.logEntries();
    const line = entries.find((e) => e.msg === 'request' && e.path === '/one-line');
    assert.ok(line, 'the request line exists');
    assert.deepEqual(Object.keys(line).sort(), ['level', 'method', 'msg', 'path', 'reqId', 'responseTime', 'status', 'time', 'upstream']);
    assert.equal(entries.filter((e) => e.reqId === line.reqId).length, 1);
  });
});
