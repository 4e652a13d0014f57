/**
 * The admin API over the Redis store: a user's sessions listed with who, when and where from (and nothing
 * secret), one ended, all ended; each end signs the browser out and closes the session's open WebSockets.
 * A sign-out and a timeout close them too. One gateway here; two replicas: admin-replicas.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { SessionSummary } from '../../src/admin/admin-server.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { createTestClock } from '../helpers/test-clock.js';
import { endedWithin5s, signedIn, socketOpener, startAdminStack, type AdminStack } from './admin-fixtures.js';

/** A listed session, as the admin API answers it. */
type Listed = SessionSummary;

describe('admin API with the Redis store', () => {
  let redis: StartedRedis;
  let s: AdminStack;
  let raw: Redis;
  const clock = createTestClock();

  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    s = await startAdminStack({ redisUrl: redis.url, now: clock.now, configure: (tree) => (tree.session = { ...tree.session, idleTimeout: '10m', absoluteTimeout: '1h' }) });
  });
  after(async () => {
    raw?.disconnect();
    await s?.close();
    await redis?.close();
  });

  const list = async (user: string): Promise<Listed[]> => {
    const response = await s.admin('GET', `/admin/sessions?user=${encodeURIComponent(user)}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    return ((await response.json()) as { sessions: Listed[] }).sessions;
  };
  const openSocket = socketOpener(() => s);

  it('lists the sessions of a user with who, when and where from, and nothing secret', async () => {
    const before = Date.now();
    const first = await s.stack.signIn('carol');
    const second = await s.stack.signIn('carol');
    await s.stack.signIn('dave');
    const sessions = await list('carol');
    assert.equal(sessions.length, 2);
    for (const session of sessions) {
      assert.deepEqual(Object.keys(session).sort(), ['createdAt', 'email', 'expiresAt', 'id', 'lastSeenAt', 'provider', 'remoteAddr', 'user', 'userAgent']);
      assert.equal(session.user, 'carol');
      assert.equal(session.email, 'carol@example.com');
      assert.equal(session.provider, 'default');
      assert.equal(session.remoteAddr, '127.0.0.1');
      assert.equal(typeof session.userAgent, 'string');
      const created = Date.parse(session.createdAt);
      assert.ok(created >= before - 1000 && created <= clock.now() + 1000, 'createdAt is the sign-in time (ISO 8601)');
      assert.equal(session.lastSeenAt, new Date(Date.parse(session.lastSeenAt)).toISOString());
      assert.equal(Date.parse(session.expiresAt), Math.min(created + 3_600_000, Date.parse(session.lastSeenAt) + 600_000), 'the earlier of the two timeouts');
      assert.match(session.id, /^[A-Za-z0-9_-]{32}$/);
    }
    assert.notEqual(sessions[0]?.id, sessions[1]?.id);
    // Nothing of the tokens or the cookies is in the answer.
    const text = JSON.stringify(sessions);
    for (const browser of [first, second]) {
      const cookie = browser.jar.get('authgate')?.value ?? '';
      assert.ok(cookie.length > 20 && !text.includes(cookie.slice(0, 20)), 'no cookie');
    }
    const records = await raw.keys('authgate:{*}:s');
    assert.ok(records.length >= 3);
    assert.doesNotMatch(text, /eyJ|refresh|access|token/i, 'no token, no JWT');
    assert.deepEqual(await list('nobody'), []);
  });

  it('ends one session: 204, that browser is signed out and its WebSocket closes; the other stays', async () => {
    const one = await s.stack.signIn('erin');
    const other = await s.stack.signIn('erin');
    const socket = await openSocket(one);
    const otherSocket = await openSocket(other);
    const sessions = await list('erin'); // oldest first: `one`'s, then `other`'s
    assert.equal(sessions.length, 2);
    const response = await s.admin('DELETE', `/admin/sessions/${sessions[0]?.id}`);
    assert.equal(response.status, 204);
    await endedWithin5s(socket);
    assert.equal(await signedIn(one, s.stack.publicUrl), false, 'the ended session\'s cookie is refused');
    assert.equal(await signedIn(other, s.stack.publicUrl), true, 'the other session goes on');
    otherSocket.ws.send('still');
    assert.equal((await otherSocket.nextMessage()).data.toString(), 'still', 'the other session\'s socket stays open');
    assert.equal((await list('erin')).length, 1);
    assert.equal((await s.admin('DELETE', `/admin/sessions/${sessions[0]?.id}`)).status, 404, 'already ended');
    assert.equal((await s.admin('DELETE', '/admin/sessions/not*a%20session')).status, 404);
    otherSocket.ws.close();
  });

  it('ends every session of a user: {revoked: N}, all browsers signed out, all sockets closed', async () => {
    const browsers = [await s.stack.signIn('frank'), await s.stack.signIn('frank')];
    const bystander = await s.stack.signIn('grace');
    const sockets = await Promise.all(browsers.map(openSocket));
    const response = await s.admin('DELETE', '/admin/sessions?user=frank');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { revoked: 2 });
    await Promise.all(sockets.map(endedWithin5s));
    for (const browser of browsers) assert.equal(await signedIn(browser, s.stack.publicUrl), false);
    assert.equal(await signedIn(bystander, s.stack.publicUrl), true, 'another user is untouched');
    assert.deepEqual(await list('frank'), []);
    const action = s.stack.gateway.logEntries().find((entry) => entry.msg === 'admin action' && entry.user === 'frank');
    assert.deepEqual([action?.tokenIndex, action?.action, action?.count], [0, 'end-user-sessions', 2]);
  });

  it('a sign-out closes the WebSocket of the session', async () => {
    const browser = await s.stack.signIn('heidi');
    const socket = await openSocket(browser);
    const response = await browser.fetch(`${s.stack.publicUrl}/oauth2/sign_out`);
    assert.equal(response.status, 302);
    await endedWithin5s(socket);
  });

  it('a replica whose Pub/Sub connection dropped reads its sockets\' sessions again when it is back', async () => {
    const browser = await s.stack.signIn('judy');
    const socket = await openSocket(browser);
    const [session] = await list('judy');
    assert.ok(session);
    // Deleted behind the gateway's back: no announcement, as if it had been missed.
    assert.equal(await raw.del(`authgate:{${session.id}}:s`), 1);
    socket.ws.send('still');
    assert.equal((await socket.nextMessage()).data.toString(), 'still', 'nothing told the gateway yet');
    const killed = await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    assert.ok(Number(killed) >= 1, 'the gateway\'s subscriber connections were cut');
    await endedWithin5s(socket);
  });

  it('a timed-out session closes its WebSocket', async () => {
    const browser = await s.stack.signIn('ivan');
    const socket = await openSocket(browser);
    clock.advance(11 * 60_000); // past idleTimeout (10m) on the gateway's clock; Redis still holds the record
    try {
      await endedWithin5s(socket);
    } finally {
      clock.reset();
    }
  });
});
