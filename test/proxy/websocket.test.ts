/**
 * WebSocket upgrades through the gateway, with a real `ws` upstream and real `ws` clients: the same guard as
 * any request (session or bearer, route policy, path normalisation), the per-upstream `websocket` switch and
 * Origin allow-list (cross-site WebSocket hijacking), what the upstream's upgrade request carries (identity,
 * token, the app's cookies, never the gateway's cookie or spoofed identity headers), echo both ways, close
 * in both directions and an unreachable upstream.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';

/** How long any single awaited event may take before the test fails instead of hanging. */
const EVENT_TIMEOUT_MS = 5_000;
/** An origin listed in the `/ws` route's allowedOrigins. */
const TRUSTED_ORIGIN = 'https://trusted.example';
/** The subprotocol the WebSocket upstream speaks. */
const SUBPROTOCOL = 'graphql-transport-ws';

/** Rejects with `label` when `promise` does not settle in time. */
async function within<T>(promise: Promise<T>, label: string, ms = EVENT_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One upgrade the WebSocket upstream accepted. */
interface UpstreamConnection {
  url: string;
  headers: IncomingMessage['headers'];
  socket: WebSocket;
  /** Every message it received, in order. */
  received: Array<{ data: Buffer; isBinary: boolean }>;
  /** Resolves with the close code and reason the upstream side saw. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A real WebSocket app: records each upgrade's URL and headers and echoes every message as it came. */
interface WsUpstream {
  url: string;
  connections: UpstreamConnection[];
  /** The next connection to arrive (call before triggering it). */
  nextConnection(): Promise<UpstreamConnection>;
  close(): Promise<void>;
}

async function startWsUpstream(): Promise<WsUpstream> {
  // Speaks one subprotocol, when offered; otherwise none.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
  await within(new Promise<void>((resolve) => server.once('listening', () => resolve())), 'the ws upstream to listen');
  const connections: UpstreamConnection[] = [];
  let waiters: Array<(connection: UpstreamConnection) => void> = [];
  server.on('connection', (socket, req) => {
    const received: UpstreamConnection['received'] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
    );
    const connection: UpstreamConnection = { url: req.url ?? '', headers: { ...req.headers }, socket, received, closed };
    socket.on('message', (data: RawData, isBinary) => {
      const buffer = toBuffer(data);
      received.push({ data: buffer, isBinary });
      socket.send(buffer, { binary: isBinary });
    });
    socket.on('error', () => undefined);
    connections.push(connection);
    const current = waiters;
    waiters = [];
    for (const waiter of current) waiter(connection);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    nextConnection: () => within(new Promise<UpstreamConnection>((resolve) => waiters.push(resolve)), 'a connection at the ws upstream'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A client socket that opened, with its incoming messages queued from the start. */
interface OpenClient {
  ws: WebSocket;
  nextMessage(): Promise<{ data: Buffer; isBinary: boolean }>;
  /** The close, within the usual event timeout. */
  closed: Promise<{ code: number; reason: string }>;
  /** The close, with no timeout of its own (for waits longer than the usual one). */
  closeEvent: Promise<{ code: number; reason: string }>;
}

/** The handshake's outcome: an open socket, or the HTTP answer that refused it. */
type Handshake = { kind: 'open'; client: OpenClient } | { kind: 'refused'; status: number; body: string; headers: IncomingMessage['headers'] };

/** Opens a real WebSocket to `url`; only the given headers are sent (no Origin unless given, like a non-browser client). */
async function connect(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Handshake> {
  const ws = new WebSocket(url, protocols, { headers });
  const queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  const messageWaiters: Array<(message: { data: Buffer; isBinary: boolean }) => void> = [];
  ws.on('message', (data: RawData, isBinary) => {
    const message = { data: toBuffer(data), isBinary };
    const waiter = messageWaiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  const client: OpenClient = {
    ws,
    closed: within(closed, `close of ${url}`),
    closeEvent: closed,
    nextMessage: () => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return within(new Promise((resolve) => messageWaiters.push(resolve)), `a message on ${url}`);
    },
  };
  // Unhandled rejections of `closed` when a test never awaits it are harmless; keep them quiet.
  client.closed.catch(() => undefined);
  return within(
    new Promise<Handshake>((resolve, reject) => {
      ws.once('open', () => resolve({ kind: 'open', client }));
      ws.once('unexpected-response', (req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ kind: 'refused', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
          req.destroy();
        });
        res.on('error', reject);
      });
      ws.on('error', (err) => reject(err));
    }),
    `the handshake with ${url}`,
  );
}

function assertOpen(handshake: Handshake, what: string): OpenClient {
  if (handshake.kind === 'refused') assert.fail(`${what}: expected the socket to open, got ${handshake.status} ${handshake.body}`);
  return handshake.client;
}

function assertRefused(handshake: Handshake, status: number, what: string): { body: string; headers: IncomingMessage['headers'] } {
  if (handshake.kind === 'open') {
    handshake.client.ws.terminate();
    assert.fail(`${what}: expected ${status}, but the socket opened`);
  }
  assert.equal(handshake.status, status, `${what}: ${handshake.body}`);
  return handshake;
}

/** An upgrade with a raw request target (the ws client would resolve `..` itself): the status line's code. */
async function rawUpgrade(base: string, target: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(base);
  return within(
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: hostname,
        port,
        path: target,
        // The gateway drops the connection after refusing an upgrade; a pooled socket would be reused dead.
        agent: false,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': randomBytes(16).toString('base64'),
          'sec-websocket-version': '13',
          ...headers,
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    }),
    `the raw upgrade of ${target}`,
  );
}

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

describe('WebSocket upgrades through the gateway', () => {
  let stack: Stack;
  let wsUpstream: WsUpstream;
  let deadPort: number;
  let silent: { port: number; close(): Promise<void> };
  let wsBase: string;
  let alice: BrowserClient;
  let bob: BrowserClient;
  let aliceCookie: string;
  let bobCookie: string;

  before(async () => {
    wsUpstream = await startWsUpstream();
    deadPort = await freePort();
    silent = await startSilentServer();
    stack = await startStack({
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
    wsBase = stack.publicUrl.replace(/^http/, 'ws');
    alice = await stack.signIn('alice');
    bob = await stack.signIn('bob');
    aliceCookie = sessionCookie(alice);
    bobCookie = sessionCookie(bob);
  });
  after(async () => {
    await stack?.close();
    await wsUpstream?.close();
    await silent?.close();
  });

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

  it('no session: 401 unauthenticated, and the upstream sees no connection', async () => {
    const before = wsUpstream.connections.length;
    const refused = assertRefused(await connect(`${wsBase}/ws/chat`, { cookie: 'app=1' }), 401, 'no session');
    assert.deepEqual(JSON.parse(refused.body), { error: 'unauthenticated' });
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
    // A forged or stale gateway cookie is no session either.
    assertRefused(await connect(`${wsBase}/ws/chat`, { cookie: 'authgate=not-a-real-session' }), 401, 'forged session cookie');
    // What a browser's WebSocket handshake looks like (same-origin Origin, no Accept).
    assertRefused(await connect(`${wsBase}/ws/chat`, { origin: new URL(stack.publicUrl).origin, 'user-agent': 'Mozilla/5.0' }), 401, 'browser upgrade');
    assert.equal(wsUpstream.connections.length, before, 'a refused upgrade must not reach the upstream');
  });

  it('no session, an upgrade that also says Accept: text/html: still 401, not a login redirect nor a login transaction', async () => {
    // An upgrade is never a navigation: a WebSocket client cannot follow a 302, and starting a login would
    // set a login-transaction cookie for every reconnect attempt.
    const handshake = await connect(`${wsBase}/ws/chat`, { origin: new URL(stack.publicUrl).origin, accept: 'text/html,application/xhtml+xml' });
    const setCookie = handshake.kind === 'refused' ? handshake.headers['set-cookie'] : undefined;
    const location = handshake.kind === 'refused' ? handshake.headers.location : undefined;
    assertRefused(handshake, 401, `upgrade with Accept: text/html (location: ${location ?? '-'}, set-cookie: ${String(setCookie ?? '-')})`);
    assert.equal(setCookie, undefined, 'no login transaction is started by an upgrade');
  });

  it("a session outside the route's allow.groups: 403; a member opens", async () => {
    const before = wsUpstream.connections.length;
    const refused = assertRefused(await connect(`${wsBase}/ws-admins/feed`, { cookie: bobCookie }), 403, 'bob (staff only) on the admins route');
    assert.doesNotMatch(refused.body, /mallory|alice/);
    assert.equal(wsUpstream.connections.length, before, 'a refused upgrade must not reach the upstream');

    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws-admins/feed`, { cookie: aliceCookie }), 'alice on the admins route');
    assert.equal((await arriving).headers['x-forwarded-user'], 'alice');
    client.ws.close();
  });

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

  it('a valid bearer access token and no cookie opens with the token as identity; a bad bearer gets 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: stack.idp.issuer, sub: 'svc', aud: TEST_CLIENT_ID, exp: now + 300, iat: now };
    const token = await stack.idp.signJwt(claims, { typ: 'at+jwt' });

    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/api`, { authorization: `Bearer ${token}` }), 'a valid bearer');
    const upstream = await arriving;
    assert.equal(upstream.headers['x-forwarded-user'], 'svc');
    assert.equal(upstream.headers.authorization, `Bearer ${token}`);
    client.ws.send(Buffer.from([7, 8, 9]));
    assert.deepEqual([...(await client.nextMessage()).data], [7, 8, 9]);
    client.ws.close();

    const before = wsUpstream.connections.length;
    const forged = await stack.idp.signJwt(claims, { typ: 'at+jwt', key: 'other' });
    const expired = await stack.idp.signJwt({ ...claims, exp: now - 600, iat: now - 900 }, { typ: 'at+jwt' });
    const wrongAudience = await stack.idp.signJwt({ ...claims, aud: 'someone-else' }, { typ: 'at+jwt' });
    const unsigned = await stack.idp.signJwt(claims, { typ: 'at+jwt', alg: 'none' });
    for (const [what, bad] of Object.entries({ forged, expired, wrongAudience, unsigned })) {
      const refused = assertRefused(await connect(`${wsBase}/ws/api`, { authorization: `Bearer ${bad}` }), 401, `${what} bearer`);
      assert.deepEqual(JSON.parse(refused.body), { error: 'invalid_token' }, `${what} bearer`);
    }
    assert.equal(wsUpstream.connections.length, before, 'a bad bearer must not reach the upstream');
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

  it('path normalisation: dot-segment and encoding tricks through a public route cannot reach the protected websocket route', async () => {
    // The public route itself opens without a session and gets no identity.
    const arrivingPublic = wsUpstream.nextConnection();
    const publicClient = assertOpen(await connect(`${wsBase}/public/chat`), 'the public websocket route');
    const publicSeen = await arrivingPublic;
    assert.equal(publicSeen.url, '/public/chat');
    assert.equal(publicSeen.headers['x-forwarded-user'], undefined);
    publicClient.ws.close();

    const before = wsUpstream.connections.length;
    const tricks: Array<[string, number[]]> = [
      ['/public/../ws/x', [401]],
      ['/public/%2e%2e/ws/x', [401]],
      ['/public/%2E%2E/ws/x', [401]],
      ['/public/./../ws/x', [401]],
      ['/public//../ws/x', [401]],
      ['/public/..;/ws/x', [400]],
      ['/public/%2e%2e%2fws/x', [400]],
      ['/public/..%5cws/x', [400]],
      ['/public/..\\ws/x', [400]],
      ['//ws/x', [401]],
      ['/WS/../ws/x', [401]],
      ['/public/%2e%2e/ws-admins/x', [401]],
    ];
    for (const [target, expected] of tricks) {
      const status = await rawUpgrade(stack.publicUrl, target);
      assert.ok(expected.includes(status), `${target}: expected ${expected.join(' or ')}, got ${status}`);
    }
    assert.equal(wsUpstream.connections.length, before, 'a path trick reached the websocket upstream');

    // Signed in, the same trick is judged and forwarded as the one normalised path.
    const arriving = wsUpstream.nextConnection();
    assert.equal(await rawUpgrade(stack.publicUrl, '/public/%2e%2e/ws/x?y=1', { cookie: aliceCookie }), 101);
    const seen = await arriving;
    assert.equal(seen.url, '/ws/x?y=1');
    assert.equal(seen.headers['x-forwarded-user'], 'alice');
    // And bob, through the public route, still meets the admins route's policy.
    assert.equal(await rawUpgrade(stack.publicUrl, '/public/../ws-admins/x', { cookie: bobCookie }), 403);
  });
});
