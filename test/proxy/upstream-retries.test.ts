/**
 * No hidden retries: an upstream's 503 (or a dropped connection) reaches the client after one attempt, for
 * every method; reply-from's default would repeat a GET up to 10 times on a 503.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('upstream failures are not retried', () => {
  let stack: Stack;
  let failing: Server;
  let attempts: string[];
  let cookie: string;

  before(async () => {
    attempts = [];
    failing = createServer((req, res) => {
      attempts.push(`${req.method ?? ''} ${req.url ?? ''}`);
      if (req.url?.startsWith('/failing/reset')) {
        req.socket.destroy();
        return;
      }
      // Retry-After 0: a retry, if any, would come at once (the test waits for no timer).
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
      res.end('busy');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
    stack = await startStack({
      configure: (c) => {
        c.upstreams.unshift({ name: 'failing', path: '/failing', url });
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(async () => {
    await stack.close();
    await new Promise<void>((resolve) => {
      failing.close(() => resolve());
      failing.closeAllConnections();
    });
  });

  for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST']) {
    it(`${method}: a 503 reaches the client after exactly one upstream attempt`, async () => {
      attempts.length = 0;
      const response = await fetch(`${stack.publicUrl}/failing/busy`, { method, headers: { accept: 'application/json', cookie } });
      await response.body?.cancel();
      assert.equal(response.status, 503);
      assert.deepEqual(attempts, [`${method} /failing/busy`]);
    });
  }

  it('GET: a connection the upstream drops is answered 502 after one attempt', async () => {
    attempts.length = 0;
    const response = await fetch(`${stack.publicUrl}/failing/reset`, { headers: { accept: 'application/json', cookie } });
    await response.body?.cancel();
    assert.equal(response.status, 502);
    assert.deepEqual(attempts, ['GET /failing/reset']);
  });
});
