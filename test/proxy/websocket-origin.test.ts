/**
 * Which upgrades may open at all: the per-upstream Origin allow-list (cross-site WebSocket hijacking) and the
 * per-upstream `websocket: false` switch; a refused upgrade reaches nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../helpers/gateway.js';
import { assertOpen, assertRefused, connect, TRUSTED_ORIGIN, type WsUpstream } from './ws-echo-fixtures.js';
import { startWsStack, type WsStack } from './ws-stack.js';

describe('WebSocket upgrades through the gateway', () => {
  let ws: WsStack;
  let stack: Stack;
  let wsUpstream: WsUpstream;
  let wsBase: string;
  let aliceCookie: string;

  before(async () => {
    ws = await startWsStack();
    ({ stack, wsUpstream, wsBase, aliceCookie } = ws);
  });
  after(() => ws?.close());

  it("Origin: publicUrl's origin and an allowedOrigins entry open; no Origin with a session opens", async () => {
    for (const origin of [new URL(stack.publicUrl).origin, TRUSTED_ORIGIN, undefined]) {
      const arriving = wsUpstream.nextConnection();
      const headers: Record<string, string> = { cookie: aliceCookie };
      if (origin !== undefined) headers.origin = origin;
      const client = assertOpen(await connect(`${wsBase}/ws/origin`, headers), `Origin ${origin ?? '(none)'}`);
      const upstream = await arriving;
      assert.equal(upstream.headers['x-forwarded-user'], 'alice');
      client.ws.send('ping');
      assert.equal((await client.nextMessage()).data.toString('utf8'), 'ping');
      client.ws.close();
      await client.closed;
    }
  });

  it('Origin: a foreign origin is 403 even with a valid session (cross-site WebSocket hijacking), and reaches nothing', async () => {
    const before = wsUpstream.connections.length;
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example', `${new URL(stack.publicUrl).origin.replace('http:', 'https:')}`]) {
      const refused = assertRefused(await connect(`${wsBase}/ws/chat`, { cookie: aliceCookie, origin }), 403, `Origin ${origin}`);
      assert.deepEqual(JSON.parse(refused.body), { error: 'origin-not-allowed' }, `Origin ${origin}`);
    }
    // allowedOrigins is per upstream: /ws's trusted origin is foreign to /ws-admins.
    const refused = assertRefused(await connect(`${wsBase}/ws-admins/feed`, { cookie: aliceCookie, origin: TRUSTED_ORIGIN }), 403, 'trusted origin of another route');
    assert.deepEqual(JSON.parse(refused.body), { error: 'origin-not-allowed' });
    assert.equal(wsUpstream.connections.length, before, 'a cross-site upgrade must not reach the upstream');
  });

  it('websocket: false: 403 websocket-disabled and nothing reaches the upstream, while plain HTTP on the route still works', async () => {
    const before = wsUpstream.connections.length;
    const refused = assertRefused(await connect(`${wsBase}/ws-off/chat`, { cookie: aliceCookie }), 403, 'websocket: false route');
    assert.deepEqual(JSON.parse(refused.body), { error: 'websocket-disabled' });
    // Also without a session: nothing is learnt beyond "disabled", nothing is proxied.
    assertRefused(await connect(`${wsBase}/ws-off/chat`), 403, 'websocket: false route, no session');
    assert.equal(wsUpstream.connections.length, before, 'a disabled upgrade must not reach the upstream');
  });

});
