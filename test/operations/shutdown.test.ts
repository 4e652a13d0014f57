/**
 * SIGTERM: /ready turns 503 at once while the gateway still serves, a request in flight (held by the upstream)
 * completes, then the process exits 0. Past shutdownGrace it exits 1 and names the requests it cut. A
 * connection that never carried a request (a browser's spare, opened ahead) does not hold the exit.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startCliStack, waitForOutput } from '../helpers/gateway.js';

describe('graceful shutdown', () => {
  it('drains: /ready 503 at once, the slow request completes, exit 0', async () => {
    const stack = await startCliStack({ configure: (c) => (c.server = { ...c.server, shutdownDelay: '500ms', shutdownGrace: '10s' }) });
    try {
      const alice = new BrowserClient();
      await alice.login(`${stack.publicUrl}/`, 'alice');
      const held = stack.upstream.hold('/slow/export'); // in flight until released, once the drain has begun
      const slow = alice.fetch(`${stack.publicUrl}/slow/export`, { headers: { accept: 'application/json' } });
      await held.arrived;
      stack.proc.child.kill('SIGTERM');
      await waitForOutput(stack.proc, (out) => out.includes('shutting down'));
      const ready = await fetch(`${stack.publicUrl}/ready`);
      assert.equal(ready.status, 503, '/ready answers 503 at once');
      assert.equal((await ready.json() as { shuttingDown: boolean }).shuttingDown, true);
      held.release();
      assert.equal((await slow).status, 200, 'the request in flight completed');
      assert.equal(await stack.proc.exited, 0);
      assert.ok(stack.logEntries().some((e) => e.msg === 'stopped'));
    } finally {
      await stack.close();
    }
  });

  it('exits 1 after shutdownGrace and names the requests it cut', async () => {
    const stack = await startCliStack({ configure: (c) => (c.server = { ...c.server, shutdownDelay: '100ms', shutdownGrace: '600ms' }) });
    try {
      const alice = new BrowserClient();
      await alice.login(`${stack.publicUrl}/`, 'alice');
      const held = stack.upstream.hold('/slow/too-long'); // never released: the upstream does not answer
      const slow = alice.fetch(`${stack.publicUrl}/slow/too-long`, { headers: { accept: 'application/json' } }).catch((err: unknown) => err);
      await held.arrived;
      stack.proc.child.kill('SIGTERM');
      assert.equal(await stack.proc.exited, 1);
      const cut = stack.logEntries().find((e) => String(e.msg).startsWith('shutdown grace period over'));
      assert.ok(cut, 'the cut is logged');
      assert.deepEqual(
        (cut.cut as Array<{ method: string; path: string; upstream: string }>).map(({ method, path, upstream }) => ({ method, path, upstream })),
        [{ method: 'GET', path: '/slow/too-long', upstream: 'app' }],
      );
      await slow;
    } finally {
      await stack.close();
    }
  });

  it("exits 0 at once when a client holds a connection it never sent a request on", async () => {
    const stack = await startCliStack({ configure: (c) => (c.server = { ...c.server, shutdownDelay: '100ms', shutdownGrace: '20s' }) });
    try {
      const alice = new BrowserClient();
      await alice.login(`${stack.publicUrl}/`, 'alice');
      const { hostname, port } = new URL(stack.publicUrl);
      const spare = connect(Number(port), hostname); // what Chromium does ahead of the next navigation
      await once(spare, 'connect');
      const ended = once(spare, 'close');
      stack.proc.child.kill('SIGTERM');
      // Before, the spare connection held close() until shutdownGrace, and the gateway then exited 1.
      assert.equal(await stack.proc.exited, 0);
      await ended;
      assert.ok(!stack.logEntries().some((e) => String(e.msg).startsWith('shutdown grace period over')), 'nothing was cut');
    } finally {
      await stack.close();
    }
  });
});
