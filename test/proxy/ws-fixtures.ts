/**
 * A small WebSocket upstream and client for the header tests: the upstream records each upgrade's headers
 * and may add headers to its 101 answer; the client reports the 101 headers it got.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** How long any awaited WebSocket event may take before the test fails instead of hanging. */
const EVENT_TIMEOUT_MS = 5_000;

/** Rejects with `label` when `promise` does not settle in time. */
export async function within<T>(promise: Promise<T>, label: string, ms = EVENT_TIMEOUT_MS): Promise<T> {
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

/** A WebSocket upstream that records the headers of every upgrade it accepted. */
export interface RecordingWsUpstream {
  url: string;
  /** Upgrade request headers, in arrival order. */
  upgrades: IncomingHttpHeaders[];
  /** The next upgrade to arrive (call before triggering it). */
  nextUpgrade(): Promise<IncomingHttpHeaders>;
  close(): Promise<void>;
}

/** Starts the upstream; `answerHeaders` are added to each of its 101 answers (raw "Name: value" lines). */
export async function startRecordingWsUpstream(answerHeaders: string[] = []): Promise<RecordingWsUpstream> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await within(new Promise<void>((resolve) => server.once('listening', () => resolve())), 'the ws upstream to listen');
  server.on('headers', (headers) => headers.push(...answerHeaders));
  const upgrades: IncomingHttpHeaders[] = [];
  let waiters: Array<(headers: IncomingHttpHeaders) => void> = [];
  server.on('connection', (socket, req) => {
    socket.on('error', () => undefined);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    upgrades.push({ ...req.headers });
    const current = waiters;
    waiters = [];
    for (const waiter of current) waiter({ ...req.headers });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    nextUpgrade: () => within(new Promise<IncomingHttpHeaders>((resolve) => waiters.push(resolve)), 'an upgrade at the ws upstream'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** An open client socket and the headers of the 101 that opened it. */
export interface OpenedWebSocket {
  ws: WebSocket;
  answerHeaders: IncomingHttpHeaders;
  /** Sends `text` and resolves with the first message back (the upstream echoes). */
  echo(text: string): Promise<string>;
}

/** Opens a WebSocket to `url` with `headers`; rejects (with the status) when the upgrade is refused. */
export function openWebSocket(url: string, headers: Record<string, string> = {}): Promise<OpenedWebSocket> {
  const ws = new WebSocket(url, { headers });
  let answerHeaders: IncomingHttpHeaders = {};
  ws.once('upgrade', (response) => (answerHeaders = response.headers));
  return within(
    new Promise<OpenedWebSocket>((resolve, reject) => {
      ws.once('open', () =>
        resolve({
          ws,
          answerHeaders,
          echo: (text) =>
            within(
              new Promise<string>((done) => {
                ws.once('message', (data: Buffer) => done(data.toString('utf8')));
                ws.send(text);
              }),
              'the echo',
            ),
        }),
      );
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        reject(new Error(`the upgrade was refused with ${res.statusCode}`));
      });
      ws.once('error', reject);
    }),
    `the handshake with ${url}`,
  );
}
