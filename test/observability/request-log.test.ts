/**
 * One log line per request: an allowed proxied request writes exactly one line (the request line with its
 * fields), whatever the proxy library would log on its own. The line names the signed-in user by subject
 * (session or bearer token; never the email or a token) and the client address as trusted-proxy resolution
 * gives it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { API, withBearers } from '../routes/bearer-fixtures.js';

const JSON_ACCEPT = { accept: 'application/json' };

describe('request log lines', () => {
  let stack: Stack;
  before(async () => {
    // withBearers also trusts 127.0.0.1 as a proxy: the test's own X-Forwarded-For then names the client.
    stack = await startStack({ configure: withBearers([API]) });
  });
  after(() => stack.close());

  const lineFor = (path: string) => stack.gateway.logEntries().find((e) => e.msg === 'request' && e.path === path);

  it('writes exactly one line for an allowed proxied request, naming the user by subject', async () => {
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/one-line?token=abc`, { headers: JSON_ACCEPT });
    assert.equal(response.status, 200);
    const line = lineFor('/one-line');
    assert.ok(line, 'the request line exists');
    assert.deepEqual(Object.keys(line).sort(), ['level', 'method', 'msg', 'path', 'remoteAddr', 'reqId', 'responseTime', 'status', 'time', 'upstream', 'user']);
    assert.equal(line.user, 'alice');
    assert.equal(line.remoteAddr, '127.0.0.1');
    assert.equal(stack.gateway.logEntries().filter((e) => e.reqId === line.reqId).length, 1);
    assert.doesNotMatch(JSON.stringify(line), /alice@example\.com/, 'no email in the line');
  });

  it('leaves user out for a signed-out request, and takes remoteAddr from a trusted proxy', async () => {
    const response = await fetch(`${stack.publicUrl}/anonymous`, { headers: { ...JSON_ACCEPT, 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(response.status, 401);
    const line = lineFor('/anonymous');
    assert.ok(line, 'the request line exists');
    assert.equal('user' in line, false);
    assert.equal(line.remoteAddr, '203.0.113.7');
  });

  it('names the subject of a bearer token, never the token', async () => {
    const token = await stack.idp.issueJwtAccessToken({ sub: 'bob', resource: API });
    const response = await fetch(`${stack.publicUrl}/with-bearer`, { headers: { ...JSON_ACCEPT, authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const line = lineFor('/with-bearer');
    assert.equal(line?.user, 'bob');
    assert.ok(!stack.gateway.logs.some((l) => l.includes(token)), 'the token is in no line');
  });

  it('names the user on the gateway routes that load the session', async () => {
    const bob = await stack.signIn('bob');
    const response = await bob.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: JSON_ACCEPT });
    assert.equal(response.status, 200);
    assert.equal(lineFor('/oauth2/userinfo')?.user, 'bob');
  });
});
