/**
 * A WebSocket upstream that fails: unreachable (refused or closed with 1011, naming no internal address, and
 * the gateway keeps serving), accepting TCP but never answering the upgrade, or not a WebSocket server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import { assertOpen, connect, type WsUpstream } from './ws-echo-fixtures.js';
import { within } from './ws-fixtures.js';
import { startWsStack, type WsStack } from './ws-stack.js';

describe('WebSocket upgrades through the gateway', () => {
  let ws: WsStack;
  let stack: Stack;
  let wsUpstream: WsUpstream;
  let wsBase: string;
  let alice: BrowserClient;
  let aliceCookie: string;
  let deadPort: number;

  before(async () => {
    ws = await startWsStack();
    ({ stack, wsUpstream, wsBase, alice, aliceCookie, deadPort } = ws);
  });
  after(() => ws?.close());

  /** An upgrade to the route whose upstream refuses connections: a refusal, or the close that followed a 101. */
  async function dialDeadUpstream(): Promise<{ status: number; body: string } | { code: number; reason: string }> {
    const handshake = await connect(`${wsBase}/ws-down/chat`, { cookie: aliceCookie });
    if (handshake.kind === 'refused') return { status: handshake.status, body: handshake.body };
    return handshake.client.closed;
  }

  it('the upstream down: the client is refused with 502 or closed at once with 1011, and the gateway keeps serving', async () => {
    const outcome = await dialDeadUpstream();
    if ('status' in outcome) assert.equal(outcome.status, 502, outcome.body);
    // @fastify/http-proxy answers 101 before it dials the upstream, so a dead upstream shows as a close.
    else assert.equal(outcome.code, 1011, `close code for an unreachable upstream (reason: ${outcome.reason})`);

    const page = await alice.fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json' } });
    assert.equal(page.status, 200);
    assert.equal((await fetch(`${stack.publicUrl}/ping`)).status, 200);
    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/after-down`, { cookie: aliceCookie }), 'a healthy route afterwards');
    await arriving;
    client.ws.close();
  });

  it("the upstream down: what the client learns names no internal address (like HTTP's short 502 page)", async () => {
    const outcome = await dialDeadUpstream();
    const told = 'status' in outcome ? outcome.body : outcome.reason;
    assert.doesNotMatch(told, new RegExp(`ECONNREFUSED|127\\.0\\.0\\.1|:${deadPort}`), `the client is told the upstream's address: "${told}"`);
  });

  it('an upstream that accepts TCP but never answers the upgrade: the client is closed after the 10 s handshake limit', async () => {
    const handshake = await connect(`${wsBase}/ws-hang/chat`, { cookie: aliceCookie });
    if (handshake.kind === 'refused') {
      assert.equal(handshake.status, 504, handshake.body);
      return;
    }
    // The upstream handshake limit is 10 s for every route; allow some slack, but not forever.
    const { code } = await within(handshake.client.closeEvent, 'the gateway to give up on a silent upstream (10 s)', 13_000).catch((err: unknown) => {
      handshake.client.ws.terminate();
      throw err;
    });
    assert.equal(code, 1011);
  });

  it('an upstream that is not a WebSocket server (answers the upgrade with a plain 200): the client is closed with 1011', async () => {
    // The stack's default upstream at "/" is the recording HTTP app, which answers every request 200 JSON.
    const handshake = await connect(`${wsBase}/plain-app`, { cookie: aliceCookie });
    if (handshake.kind === 'refused') {
      assert.equal(handshake.status, 502, handshake.body);
      return;
    }
    assert.equal((await handshake.client.closed).code, 1011);
    assert.equal((await fetch(`${stack.publicUrl}/ping`)).status, 200);
  });

});
