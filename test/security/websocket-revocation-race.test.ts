/**
 * A session ended while its WebSocket is still being set up: the guard let the upgrade through, the admin
 * ends the user's sessions (or that one session) before the application answers the handshake, then the
 * application accepts. The socket must not outlive the session: it closes within 5 s, with either store.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { connect } from '../proxy/ws-echo-fixtures.js';
import { within } from '../proxy/ws-fixtures.js';
import { cookieOf, startAdminStack, type AdminStack } from '../admin/admin-fixtures.js';

/** A WebSocket app that holds each handshake until the test releases it. */
async function startHeldWsUpstream() {
  let arrived: (() => void) | undefined;
  let release: (() => void) | undefined;
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (_info, done) => {
      release = () => done(true);
      arrived?.();
    },
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves when the next handshake reaches the app (call before triggering it). */
    nextHandshake: () => within(new Promise<void>((resolve) => (arrived = resolve)), 'the handshake at the app'),
    release: () => release?.(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

for (const store of ['cookie', 'redis'] as const) {
  describe(`a session ended during its WebSocket handshake (${store} store)`, () => {
    let redis: StartedRedis | undefined;
    let s: AdminStack;
    let held: Awaited<ReturnType<typeof startHeldWsUpstream>>;
    before(async () => {
      held = await startHeldWsUpstream();
      if (store === 'redis') redis = await startRedis();
      s = await startAdminStack({
        redisUrl: redis?.url,
        configure: (tree) => tree.upstreams.unshift({ name: 'held-ws', path: '/held', url: held.url }),
      });
    });
    after(async () => {
      await s?.close();
      await held?.close();
      await redis?.close();
    });

    const endings: Array<readonly [string, (s: AdminStack) => Promise<Response>]> = [['the admin ends the user', (s) => s.admin('DELETE', '/admin/sessions?user=alice')]];
    // Only the Redis store can list session ids (the cookie store answers 501), so only there is one ended by id.
    if (store === 'redis') {
      endings.push([
        'the admin ends that session',
        async (s) => {
          const sessions = ((await (await s.admin('GET', '/admin/sessions?user=alice')).json()) as { sessions?: Array<{ id: string }> }).sessions;
          return s.admin('DELETE', `/admin/sessions/${sessions?.at(-1)?.id ?? 'none-listed'}`);
        },
      ]);
    }
    for (const [how, end] of endings) {
      it(`${how}: the socket that opens after it closes within 5 s`, async () => {
        const alice = await s.stack.signIn('alice');
        const atApp = held.nextHandshake();
        const handshake = connect(`${s.wsBase}/held/socket`, { cookie: cookieOf(alice, s.stack.publicUrl) });
        await atApp; // the guard has let it through
        const ended = await end(s);
        assert.ok(ended.status === 200 || ended.status === 204, `the admin's answer: ${ended.status}`);
        held.release();
        const opened = await handshake;
        assert.equal(opened.kind, 'open');
        if (opened.kind !== 'open') return;
        const closed = await within(opened.client.closeEvent, 'the socket of the ended session to close', 5_000).catch((err: unknown) => {
          opened.client.ws.terminate();
          throw err;
        });
        assert.deepEqual(closed, { code: 1008, reason: 'session ended' });
      });
    }
  });
}
