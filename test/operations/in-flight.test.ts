/**
 * The requests in flight (what the shutdown line names when the grace period cuts them): a request whose
 * client went away is no longer listed, and the entries of such requests do not pile up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InFlightList, SWEEP_EVERY } from '../../src/http/in-flight.js';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('requests in flight', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const waitForUpstream = async (url: string) => {
    while (!stack.upstream.requests.some((r) => r.url === url)) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('lists a slow request, and no longer once its client disconnected', async () => {
    const alice = await stack.signIn('alice');
    const aborted = new AbortController();
    const gone = alice.fetch(`${stack.publicUrl}/slow/abandoned`, { signal: aborted.signal }).catch((err: unknown) => err);
    const kept = alice.fetch(`${stack.publicUrl}/slow/kept`);
    await waitForUpstream('/slow/abandoned');
    await waitForUpstream('/slow/kept');
    const paths = () => stack.gateway.gateway.inFlightRequests().map((r) => r.path).sort();
    assert.deepEqual(paths(), ['/slow/abandoned', '/slow/kept']);
    aborted.abort();
    await gone;
    const deadline = Date.now() + 1500;
    while (paths().length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(paths(), ['/slow/kept']);
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
