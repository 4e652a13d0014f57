/**
 * WebSocket traffic through the gateway, with a real `ws` upstream and real `ws` clients: echo of text and
 * binary both ways, what the upstream's upgrade request carries (identity, token, the app's cookies, never
 * the gateway's cookie or spoofed identity headers), subprotocol negotiation, and close in both directions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../helpers/gateway.js';
import { assertOpen, connect, SUBPROTOCOL, type WsUpstream } from './ws-echo-fixtures.js';
import { within } from './ws-fixtures.js';
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

  it('signed in: opens, echoes text and binary both ways, and the upstream gets path, query, identity, token and app cookies only', async () => {
    const arriving = wsUpstream.nextConnection();
    const handshake = await connect(`${wsBase}/ws/chat?room=1`, {
      cookie: `app=1; ${aliceCookie}; authgate_tx_forged=zzz`,
      'X-Forwarded-User': 'mallory',
      x_forwarded_user: 'mallory',
      'X-Forwarded-Email': 'mallory@evil.example',
      'X-Forwarded-Groups': 'root',
      'X-Auth-Request-User': 'mallory',
      authorization: 'Bearer forged-token',
    });
    const client = assertOpen(handshake, 'alice with her session cookie');
    const upstream = await arriving;

    const sent: Array<{ data: Buffer; isBinary: boolean }> = [
      { data: Buffer.from('hello'), isBinary: false },
      { data: Buffer.from([0, 1, 2, 253, 254, 255]), isBinary: true },
      { data: Buffer.from('ünïcødé ✓'), isBinary: false },
      { data: randomBytes(70_000), isBinary: true },
      { data: Buffer.from('x'.repeat(100_000)), isBinary: false },
    ];
    for (const message of sent) client.ws.send(message.data, { binary: message.isBinary });
    for (const [i, message] of sent.entries()) {
      const echoed = await client.nextMessage();
      assert.equal(echoed.isBinary, message.isBinary, `message ${i}: binary flag`);
      assert.ok(echoed.data.equals(message.data), `message ${i}: echoed bytes differ`);
    }
    assert.equal(upstream.received.length, sent.length, 'the upstream received every message');
    for (const [i, message] of sent.entries()) {
      assert.ok(upstream.received[i]?.data.equals(message.data), `message ${i} reached the upstream intact`);
      assert.equal(upstream.received[i]?.isBinary, message.isBinary);
    }
    // Upstream-initiated traffic reaches the client too.
    upstream.socket.send('pushed by the app');
    assert.equal((await client.nextMessage()).data.toString('utf8'), 'pushed by the app');

    assert.equal(upstream.url, '/ws/chat?room=1');
    const seen = upstream.headers;
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-email'], 'alice@example.com');
    assert.equal(seen['x-forwarded-preferred-username'], 'alice');
    assert.equal(seen['x-forwarded-groups'], 'admins,staff');
    assert.match(String(seen.authorization), /^Bearer [^ ]+$/);
    assert.notEqual(seen.authorization, 'Bearer forged-token');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], new URL(stack.publicUrl).host);
    assert.equal(seen['x-auth-request-user'], undefined);
    for (const [name, value] of Object.entries(seen)) {
      assert.ok(!name.includes('_'), `underscore header ${name} reached the upstream`);
      assert.ok(!/mallory|root|forged-token/.test(String(value)), `header ${name} carries a spoofed value: ${String(value)}`);
    }
    const cookie = String(seen.cookie ?? '');
    assert.match(cookie, /(^|; )app=1(;|$)/, `the app cookie reached the upstream: ${cookie}`);
    assert.doesNotMatch(cookie, /(^|;\s*)authgate[=_]/, `the gateway cookie reached the upstream: ${cookie}`);

    client.ws.close(1000, 'done');
    assert.equal((await upstream.closed).code, 1000);
  });

  it('a subprotocol the app speaks is negotiated end to end', async () => {
    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/graphql`, { cookie: aliceCookie }, [SUBPROTOCOL]), 'alice with a subprotocol');
    assert.equal(client.ws.protocol, SUBPROTOCOL);
    const upstream = await arriving;
    assert.equal(upstream.headers['sec-websocket-protocol'], SUBPROTOCOL);
    assert.equal(upstream.socket.protocol, SUBPROTOCOL);
    client.ws.send('{"type":"connection_init"}');
    assert.equal((await client.nextMessage()).data.toString('utf8'), '{"type":"connection_init"}');
    client.ws.close();
  });


  it('the upstream closing the socket closes the client with its code and reason', async () => {
    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/close-by-app`, { cookie: aliceCookie }), 'alice');
    const upstream = await arriving;
    upstream.socket.close(4001, 'app says bye');
    assert.deepEqual(await client.closed, { code: 4001, reason: 'app says bye' });
  });

  it('the client closing the socket closes the upstream side with its code and reason', async () => {
    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/close-by-client`, { cookie: aliceCookie }), 'alice');
    const upstream = await arriving;
    client.ws.close(4002, 'client says bye');
    assert.deepEqual(await within(upstream.closed, 'the upstream side to close'), { code: 4002, reason: 'client says bye' });
    await client.closed;
  });

  it('a client that vanishes (TCP reset, no close frame) closes the upstream side', async () => {
    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/vanish`, { cookie: aliceCookie }), 'alice');
    const upstream = await arriving;
    client.ws.terminate();
    const { code } = await within(upstream.closed, 'the upstream side to close after the client vanished');
    assert.ok(code >= 1000, `close code ${code}`);
  });
});
