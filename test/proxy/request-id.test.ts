/**
 * X-Request-Id: the upstream receives the id of the gateway's own log line for the request, so an app's
 * log can be joined with the gateway's. A trusted proxy's well-formed id is kept (one id along the whole
 * chain); a client's own, or a malformed one, never reaches the app or the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { rawGet } from '../helpers/raw-http.js';

/** The reqId of the last request line the gateway logged for `path`. */
function loggedId(stack: Stack, path: string): unknown {
  return stack.gateway
    .logEntries()
    .filter((e) => e.msg === 'request' && e.path === path)
    .at(-1)?.reqId;
}

/** The log's lines are written in batches: polls what was written until the line for `path` is there. */
async function waitForLogged(stack: Stack, path: string): Promise<unknown> {
  for (;;) {
    const id = loggedId(stack, path);
    if (id !== undefined) return id;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('X-Request-Id', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.upstreams[0].auth = 'public';
        c.server.trustedProxies = ['127.0.0.2'];
      },
    });
  });
  after(() => stack.close());

  it('sends the id of the gateway log line upstream, a new one per request, never the id a client chose', async () => {
    const ids = new Set<unknown>();
    for (const path of ['/a', '/b']) {
      const response = await rawGet(stack.publicUrl, path, { 'x-request-id': 'client-chosen-id' });
      assert.equal(response.status, 200);
      const seen = stack.upstream.last()?.headers['x-request-id'];
      assert.equal(seen, await waitForLogged(stack, path));
      assert.notEqual(seen, 'client-chosen-id');
      ids.add(seen);
    }
    assert.equal(ids.size, 2);
  });

  it('keeps the well-formed id of a trusted proxy, upstream and in the log', async () => {
    const id = 'edge-7f3a9c:01HZX/req=42';
    const response = await rawGet(stack.publicUrl, '/c', { 'x-request-id': id }, false, '127.0.0.2');
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-request-id'], id);
    assert.equal(await waitForLogged(stack, '/c'), id);
  });

  it('replaces an id of a trusted proxy that a log line could not carry as it is', async () => {
    for (const [path, id] of [['/d', 'a"b'], ['/e', 'x'.repeat(129)], ['/f', 'with space'], ['/g', 'a\\\\b']] as const) {
      const response = await rawGet(stack.publicUrl, path, { 'x-request-id': id }, false, '127.0.0.2');
      assert.equal(response.status, 200, path);
      const seen = stack.upstream.last()?.headers['x-request-id'];
      assert.notEqual(seen, id, path);
      assert.equal(seen, await waitForLogged(stack, path));
    }
  });
});
