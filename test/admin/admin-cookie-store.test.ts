/**
 * The admin API over the cookie store: sessions live in browsers, so listing answers 501; ending a user's
 * sessions refuses, in this process, every session of that user issued before now (a later sign-in works),
 * ending one session by id refuses that one; both close the sessions' WebSockets here. A sign-out and a
 * timeout close them too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { createTestClock } from '../helpers/test-clock.js';
import { endedWithin5s, signedIn, socketOpener, startAdminStack, type AdminStack } from './admin-fixtures.js';

describe('admin API with the cookie store', () => {
  let s: AdminStack;
  const clock = createTestClock();
  before(async () => {
    s = await startAdminStack({ now: clock.now, configure: (tree) => (tree.session = { ...tree.session, idleTimeout: '10m', absoluteTimeout: '1h' }) });
  });
  after(() => s?.close());

  const openSocket = socketOpener(() => s);

  it('cannot list: 501 with a JSON message', async () => {
    const response = await s.admin('GET', '/admin/sessions?user=alice');
    assert.equal(response.status, 501);
    const body = (await response.json()) as { error: string; message: string };
    assert.equal(body.error, 'not_implemented');
    assert.match(body.message, /cookie session store/);
  });

  it('ends a user\'s sessions in this process: earlier cookies refused, sockets closed, a new sign-in works', async () => {
    const first = await s.stack.signIn('carol');
    const second = await s.stack.signIn('carol');
    const bystander = await s.stack.signIn('dave');
    const sockets = [await openSocket(first), await openSocket(second)];
    const bystanderSocket = await openSocket(bystander);
    const response = await s.admin('DELETE', '/admin/sessions?user=carol');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { revoked: 0 }, 'the cookie store cannot count sessions it does not hold');
    await Promise.all(sockets.map(endedWithin5s));
    assert.equal(await signedIn(first, s.stack.publicUrl), false);
    assert.equal(await signedIn(second, s.stack.publicUrl), false);
    assert.equal(await signedIn(bystander, s.stack.publicUrl), true);
    bystanderSocket.ws.send('still');
    assert.equal((await bystanderSocket.nextMessage()).data.toString(), 'still');
    bystanderSocket.ws.close();
    // Issued before the revocation only: signing in again works (the clock moves past the revocation's ms).
    clock.advance(5);
    const again = await s.stack.signIn('carol');
    assert.equal(await signedIn(again, s.stack.publicUrl), true);
    clock.reset();
  });

  it('ends one session by its id in this process', async () => {
    const boxes = await sealBoxesFor([TEST_SESSION_KEY], { gateway: s.stack.gateway });
    const one = await s.stack.signIn('erin');
    const other = await s.stack.signIn('erin');
    const socket = await openSocket(one);
    const id = boxes.session.open(one.jar.get('authgate')?.value ?? '')?.data.id;
    assert.equal(typeof id, 'string');
    const response = await s.admin('DELETE', `/admin/sessions/${String(id)}`);
    assert.equal(response.status, 204);
    await endedWithin5s(socket);
    assert.equal(await signedIn(one, s.stack.publicUrl), false);
    assert.equal(await signedIn(other, s.stack.publicUrl), true);
  });

  it('a sign-out closes the session\'s WebSocket in this process', async () => {
    const browser = await s.stack.signIn('heidi');
    const socket = await openSocket(browser);
    const response = await browser.fetch(`${s.stack.publicUrl}/oauth2/sign_out`);
    assert.equal(response.status, 302);
    await endedWithin5s(socket);
  });

  it('a timed-out session closes its WebSocket', async () => {
    const browser = await s.stack.signIn('ivan');
    const socket = await openSocket(browser);
    clock.advance(11 * 60_000); // past idleTimeout (10m) on the gateway's clock
    try {
      await endedWithin5s(socket);
    } finally {
      clock.reset();
    }
  });

  it('a request that keeps the session alive keeps its WebSocket open past the first idle timeout', async () => {
    const browser = await s.stack.signIn('judy');
    const idle = await s.stack.signIn('grace'); // signed in at the same time, never used again
    const socket = await openSocket(browser);
    const idleSocket = await openSocket(idle);
    try {
      clock.advance(6 * 60_000);
      assert.equal(await signedIn(browser, s.stack.publicUrl), true, 'a request moves the idle clock on (a new cookie)');
      clock.advance(6 * 60_000); // 12 minutes after both sign-ins, 6 after judy's last request
      // The sweep that closes the idle session's socket has judged judy's too.
      await endedWithin5s(idleSocket);
      socket.ws.send('alive');
      assert.equal((await socket.nextMessage()).data.toString(), 'alive');
    } finally {
      clock.reset();
      socket.ws.close();
    }
  });
});
