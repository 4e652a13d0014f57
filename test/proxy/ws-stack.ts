/**
 * The one gateway stack every WebSocket upgrade test runs against: the echo upstream behind several routes
 * (allowedOrigins, allow.groups, websocket: false, public), a dead and a silent upstream, and alice and bob
 * signed in.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startStack, type Stack } from '../helpers/gateway.js';
import { startWsUpstream, TRUSTED_ORIGIN, type WsUpstream } from './ws-echo-fixtures.js';

/** A TCP server that accepts connections, reads them and never answers (a hung upstream). */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Cookie header value for the gateway's session cookie of a signed-in browser. */
function sessionCookie(browser: BrowserClient): string {
  const cookie = browser.jar.get('authgate');
  assert.ok(cookie, 'the browser holds the gateway cookie');
  return `authgate=${cookie.value}`;
}

/** The gateway with its WebSocket routes, the upstreams behind them and two signed-in users. */
export interface WsStack {
  stack: Stack;
  wsUpstream: WsUpstream;
  /** A port nothing listens on (the `/ws-down` route's upstream). */
  deadPort: number;
  /** The gateway's public URL with the ws: scheme. */
  wsBase: string;
  alice: BrowserClient;
  aliceCookie: string;
  bobCookie: string;
  close(): Promise<void>;
}

/** Starts the upstreams and a gateway whose routes cover every WebSocket case; alice and bob sign in. */
export async function startWsStack(): Promise<WsStack> {
  const wsUpstream = await startWsUpstream();
  const deadPort = await freePort();
  const silent = await startSilentServer();
  const stack = await startStack({
    configure: (c) => {
      c.api = { acceptBearerTokens: true };
      c.upstreams.unshift(
        { name: 'ws', path: '/ws', url: wsUpstream.url, allowedOrigins: [TRUSTED_ORIGIN] },
        { name: 'ws-admins', path: '/ws-admins', url: wsUpstream.url, allow: { groups: ['admins'] } },
        { name: 'ws-off', path: '/ws-off', url: wsUpstream.url, websocket: false },
        { name: 'ws-down', path: '/ws-down', url: `http://127.0.0.1:${deadPort}` },
        { name: 'ws-hang', path: '/ws-hang', url: `http://127.0.0.1:${silent.port}`, timeout: '1s' },
        { name: 'ws-public', path: '/public', url: wsUpstream.url, auth: 'public' },
      );
    },
  });
  const alice = await stack.signIn('alice');
  const bob = await stack.signIn('bob');
  return {
    stack,
    wsUpstream,
    deadPort,
    wsBase: stack.publicUrl.replace(/^http/, 'ws'),
    alice,
    aliceCookie: sessionCookie(alice),
    bobCookie: sessionCookie(bob),
    close: async () => {
      await stack.close();
      await wsUpstream.close();
      await silent.close();
    },
  };
}
