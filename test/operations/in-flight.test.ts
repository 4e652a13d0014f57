/**
 * The requests in flight (what the shutdown line names when the grace period cuts them): a request whose
 * client went away is no longer listed, and the entries of such requests do not pile up.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { InFlightList, SWEEP_EVERY } from '../../src/observability/in-flight.js';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('requests in flight', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  /** Resolves when the gateway's socket for the next request to `url` closes (what the list looks at). */
  const gatewaySocketClosed = (url: string) =>
    new Promise<void>((resolve) => {
      const server = stack.gateway.gateway.app.server;
      const onRequest = (request: IncomingMessage) => {
        if (request.url !== url) return;
        server.off('request', onRequest);
        request.socket.once('close', () => resolve());
      };
      server.prependListener('request', onRequest); // first: the gateway rewrites request.url
    });

  it('lists a slow request, and no longer once its client disconnected', async () => {
    const alice = await stack.signIn('alice');
    const aborted = new AbortController();
    const abandonedHold = stack.upstream.hold('/slow/abandoned'); // both in flight until released
    const keptHold = stack.upstream.hold('/slow/kept');
    const abandonedClosed = gatewaySocketClosed('/slow/abandoned');
    const gone = alice.fetch(`${stack.publicUrl}/slow/abandoned`, { signal: aborted.signal }).catch((err: unknown) => err);
    const kept = alice.fetch(`${stack.publicUrl}/slow/kept`);
    await abandonedHold.arrived;
    await keptHold.arrived;
    const paths = () => stack.gateway.gateway.inFlightRequests().map((r) => r.path).sort();
    assert.deepEqual(paths(), ['/slow/abandoned', '/slow/kept']);
    aborted.abort();
    await gone;
    await abandonedClosed;
    assert.deepEqual(paths(), ['/slow/kept']);
    abandonedHold.release(); // the upstream answers it late, as a real app would; nobody is there to read it
    keptHold.release();
    assert.equal((await kept).status, 200);
    assert.deepEqual(paths(), []);
  });
});

describe('in-flight list', () => {
  it('sweeps entries that are gone every SWEEP_EVERY additions and keeps the rest', () => {
    const gone = new Set<number>();
    const list = new InFlightList<number>((n) => gone.has(n));
    const entries = [];
    for (let n = 0; n < SWEEP_EVERY - 1; n++) {
      entries.push(list.add(n));
      if (n % 2 === 0) gone.add(n); // abandoned: never removed by their answer
    }
    assert.equal(list.size, SWEEP_EVERY - 1);
    const kept = Math.floor((SWEEP_EVERY - 1) / 2); // the odd numbers
    assert.equal(list.values().length, kept);
    list.add(SWEEP_EVERY - 1); // the SWEEP_EVERY-th addition sweeps first
    assert.equal(list.size, kept + 1);
    for (const entry of entries) list.remove(entry); // answered ones leave; removing a swept one is harmless
    assert.deepEqual(list.values(), [SWEEP_EVERY - 1]);
  });
});
