/**
 * The WebSocket fixtures of the upgrade tests (test/proxy/websocket-*.test.ts): a real `ws` echo upstream
 * that records each upgrade, a real `ws` client that reports an open socket or the HTTP refusal, and a raw
 * upgrade for request targets the client would normalise itself (the gateway stack is in ws-stack.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { within } from './ws-fixtures.js';

/** An origin listed in the `/ws` route's allowedOrigins. */
export const TRUSTED_ORIGIN = 'https://trusted.example';
/** The subprotocol the WebSocket upstream speaks. */
export const SUBPROTOCOL = 'graphql-transport-ws';

/** One upgrade the WebSocket upstream accepted. */
export interface UpstreamConnection {
  url: string;
  headers: IncomingMessage['headers'];
  socket: WebSocket;
  /** Every message it received, in order. */
  received: Array<{ data: Buffer; isBinary: boolean }>;
  /** Resolves with the close code and reason the upstream side saw. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A real WebSocket app: records each upgrade's URL and headers and echoes every message as it came. */
export interface WsUpstream {
  url: string;
  connections: UpstreamConnection[];
  /** The next connection to arrive (call before triggering it). */
  nextConnection(): Promise<UpstreamConnection>;
  close(): Promise<void>;
}

/** Starts the echoing WebSocket app on a free port. */
export async function startWsUpstream(): Promise<WsUpstream> {
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
export interface OpenClient {
  ws: WebSocket;
  nextMessage(): Promise<{ data: Buffer; isBinary: boolean }>;
  /** The close, within the usual event timeout. */
  closed: Promise<{ code: number; reason: string }>;
  /** The close, with no timeout of its own (for waits longer than the usual one). */
  closeEvent: Promise<{ code: number; reason: string }>;
}

/** The handshake's outcome: an open socket, or the HTTP answer that refused it. */
export type Handshake = { kind: 'open'; client: OpenClient } | { kind: 'refused'; status: number; body: string; headers: IncomingMessage['headers'] };

/** Opens a real WebSocket to `url`; only the given headers are sent (no Origin unless given, like a non-browser client). */
export async function connect(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Handshake> {
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

/** The open client of a handshake that must have succeeded. */
export function assertOpen(handshake: Handshake, what: string): OpenClient {
  if (handshake.kind === 'refused') assert.fail(`${what}: expected the socket to open, got ${handshake.status} ${handshake.body}`);
  return handshake.client;
}

/** The refusal of a handshake that must have been refused with `status`. */
export function assertRefused(handshake: Handshake, status: number, what: string): { body: string; headers: IncomingMessage['headers'] } {
  if (handshake.kind === 'open') {
    handshake.client.ws.terminate();
    assert.fail(`${what}: expected ${status}, but the socket opened`);
  }
  assert.equal(handshake.status, status, `${what}: ${handshake.body}`);
  return handshake;
}

/** An upgrade with a raw request target (the ws client would resolve `..` itself): the status line's code. */
export async function rawUpgrade(base: string, target: string, headers: Record<string, string> = {}): Promise<number> {
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
