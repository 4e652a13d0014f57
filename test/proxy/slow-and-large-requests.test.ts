/**
 * Limits against slow and large requests: headers that never finish (slowloris) and bodies that stall get 408
 * or a closed connection while other clients are served; request bodies are streamed to the upstream, not
 * buffered (a first chunk arrives before the client sends the rest; 20 MiB pass whole); many medium headers
 * adding up to more than 16 KiB get 431; one browser holds at most 5 open login transactions.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_OPEN_TRANSACTIONS } from '../../src/session/transaction.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

/** Rejects when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One request as the streaming upstream sees it, while it arrives. */
interface Upload {
  url: string;
  /** Bytes received so far. */
  bytes: number;
  /** The body received so far (only the first MiB is kept). */
  text(): string;
  /** Resolves at the first 'data' event. */
  firstData: Promise<void>;
  /** Resolves when the body ended ('complete') or the connection went away first ('aborted'). */
  finished: Promise<'complete' | 'aborted'>;
}

/** A node:http upstream that reports each request's body as it streams in and answers `{ bytes }`. */
interface StreamUpstream {
  url: string;
  /** The next request to arrive (or one that arrived and was not taken yet). */
  nextUpload(): Promise<Upload>;
  close(): Promise<void>;
}

async function startStreamUpstream(): Promise<StreamUpstream> {
  const arrived: Upload[] = [];
  const waiting: Array<(upload: Upload) => void> = [];
  const server: Server = createServer((req, res) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let signalData: () => void = () => undefined;
    const upload: Upload = {
      url: req.url ?? '/',
      bytes: 0,
      text: () => Buffer.concat(kept).toString('utf8'),
      firstData: new Promise<void>((resolve) => (signalData = resolve)),
      finished: new Promise((resolve) => {
        req.on('end', () => resolve('complete'));
        req.on('error', () => resolve('aborted'));
        req.on('close', () => resolve(req.complete ? 'complete' : 'aborted'));
      }),
    };
    req.on('data', (chunk: Buffer) => {
      upload.bytes += chunk.length;
      if (keptBytes < 1024 * 1024) {
        kept.push(chunk);
        keptBytes += chunk.length;
      }
      signalData();
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes: upload.bytes }));
    });
    const waiter = waiting.shift();
    if (waiter) waiter(upload);
    else arrived.push(upload);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    nextUpload: () => {
      const ready = arrived.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** What came back on a raw socket, and when it closed (ms after connecting; undefined if it stayed open). */
interface RawExchange {
  data: string;
  closedAfterMs: number | undefined;
}

/**
 * Opens a raw TCP connection, writes `initial`, then optionally one character of `drip` every `everyMs`;
 * resolves when the server closes the connection, or after `giveUpMs` (closedAfterMs undefined).
 */
function rawConnection(port: number, initial: string, opts: { drip?: string; everyMs?: number; giveUpMs?: number } = {}) {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let data = '';
  let closed = false;
  let dripIndex = 0;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined); // a reset after the server gave up is one of the expected outcomes
  socket.write(initial);
  const dripTimer = opts.drip
    ? setInterval(() => {
        if (!socket.writable) return;
        socket.write(opts.drip?.[dripIndex % (opts.drip.length || 1)] ?? 'a');
        dripIndex += 1;
      }, opts.everyMs ?? 300)
    : undefined;
  const done = new Promise<RawExchange>((resolve) => {
    const giveUp = setTimeout(() => {
      clearInterval(dripTimer);
      socket.destroy();
      resolve({ data, closedAfterMs: undefined });
    }, opts.giveUpMs ?? 6000);
    socket.on('close', () => {
      closed = true;
      clearInterval(dripTimer);
      clearTimeout(giveUp);
      resolve({ data, closedAfterMs: Date.now() - started });
    });
  });
  return { done, isClosed: () => closed };
}

/** Asserts the server gave up on a connection: closed in time, with nothing written or a 408. */
function assertTimedOut(exchange: RawExchange, limitMs: number, what: string): void {
  assert.ok(exchange.closedAfterMs !== undefined, `${what}: the connection was still open after the test gave up; got: ${JSON.stringify(exchange.data)}`);
  assert.ok(exchange.closedAfterMs <= limitMs, `${what}: closed only after ${exchange.closedAfterMs} ms (limit ${limitMs})`);
  if (exchange.data !== '') assert.match(exchange.data, /^HTTP\/1\.1 408 /, `${what}: unexpected answer ${JSON.stringify(exchange.data.slice(0, 200))}`);
}

/** A request through node:http; resolves with the status and body. */
function send(
  base: string,
  target: string,
  opts: { method?: string; headers?: Record<string, string | number> } = {},
): { req: ReturnType<typeof request>; answer: Promise<{ status: number; body: string }> } {
  const url = new URL(base);
  const req = request({ host: url.hostname, port: url.port, path: target, method: opts.method ?? 'GET', headers: opts.headers, agent: false });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { req, answer };
}

describe('slow clients: header and request timeouts', () => {
  let stack: Stack;
  let cookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.headersTimeout = '1s';
        c.server.requestTimeout = '2s';
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/upload`) ?? '';
  });
  after(() => stack.close());

  it('slowloris: headers dripping one byte every 300 ms get 408 / a closed connection within 2.5 s; others are served meanwhile', async () => {
    const attackers = Array.from({ length: 10 }, () =>
      rawConnection(stack.gateway.port, 'GET / HTTP/1.1\r\nHost: x\r\n', { drip: 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa', everyMs: 300 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ping = await within(fetch(`${stack.gateway.url}/ping`), 1000, 'GET /ping during the attack');
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), 'OK');
    assert.ok(attackers.some((a) => !a.isClosed()), 'the attackers were cut before the normal request was answered; nothing shows concurrency');
    const results = await Promise.all(attackers.map((a) => a.done));
    results.forEach((exchange, i) => assertTimedOut(exchange, 2500, `slow connection ${i}`));
  });

  it('a stalled body (Content-Length 1000, 10 bytes sent) to a proxied route gets 408 / closed within 3.5 s', async () => {
    const head =
      `POST /upload HTTP/1.1\r\nHost: ${new URL(stack.publicUrl).host}\r\nCookie: ${cookie}\r\n` +
      'Accept: application/json\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n';
    const exchange = await rawConnection(stack.gateway.port, `${head}0123456789`).done;
    assertTimedOut(exchange, 3500, 'slow body to an upstream');
    const ping = await fetch(`${stack.gateway.url}/ping`);
    assert.equal(ping.status, 200);
  });

  it('a stalled body to the gateway’s own form route (POST /oauth2/sign_out) gets 408 / closed within 3.5 s', async () => {
    const head =
      'POST /oauth2/sign_out HTTP/1.1\r\nHost: x\r\n' + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n';
    const exchange = await rawConnection(stack.gateway.port, `${head}rd=%2Fabcd`).done;
    assertTimedOut(exchange, 3500, 'slow body to /oauth2/sign_out');
  });

  it('many medium headers adding up to more than 16 KiB get 431; the same headers under 16 KiB pass', async () => {
    const headers = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-medium-${i}`, 'm'.repeat(500)]));
    const tooMany = send(stack.gateway.url, '/ping', { headers: headers(40) }); // ~20.6 KB, no single one large
    tooMany.req.end();
    assert.equal((await tooMany.answer).status, 431);
    const fine = send(stack.gateway.url, '/ping', { headers: headers(20) }); // ~10.3 KB
    fine.req.end();
    assert.equal((await fine.answer).status, 200);
  });
});

describe('large and streamed bodies, and the login transaction cap', () => {
  let stack: Stack;
  let streamUpstream: StreamUpstream;
  let cookie: string;
  before(async () => {
    streamUpstream = await startStreamUpstream();
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push({ name: 'stream', path: '/stream', url: streamUpstream.url });
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/stream/upload`) ?? '';
  });
  after(async () => {
    await stack.close();
    await streamUpstream.close();
  });

  it('streams a chunked body: the upstream has the first chunk before the client sends the rest', async () => {
    const { req, answer } = send(stack.gateway.url, '/stream/upload', {
      method: 'POST',
      headers: { cookie, accept: 'application/json', 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    });
    req.write('first-chunk;');
    const upload = await within(streamUpstream.nextUpload(), 3000, 'the upstream request (headers) before the body ends');
    await within(upload.firstData, 3000, 'the first chunk at the upstream before the client sent the rest');
    assert.equal(upload.text(), 'first-chunk;');
    assert.equal(upload.url, '/stream/upload');
    req.end('second-chunk;last');
    const { status, body } = await answer;
    assert.equal(status, 200, body);
    assert.equal(await upload.finished, 'complete');
    assert.equal(upload.text(), 'first-chunk;second-chunk;last');
  });

  it('passes a 20 MiB body through whole', async () => {
    const size = 20 * 1024 * 1024;
    const { req, answer } = send(stack.gateway.url, '/stream/big', {
      method: 'POST',
      headers: { cookie, accept: 'application/json', 'content-type': 'application/octet-stream', 'content-length': size },
    });
    const piece = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent < size; sent += piece.length) {
      if (!req.write(piece)) await once(req, 'drain');
    }
    req.end();
    const upload = await streamUpstream.nextUpload();
    const { status, body } = await within(answer, 10_000, 'the answer to a 20 MiB upload');
    assert.equal(status, 200, body.slice(0, 300));
    assert.equal(await upload.finished, 'complete');
    assert.equal(upload.bytes, size);
    assert.deepEqual(JSON.parse(body), { bytes: size });
  });

  describe('login transactions: one browser starting 7 logins', () => {
    const browser = new BrowserClient();
    const locations: string[] = [];
    const held: number[] = [];
    const transactionCookies = () => browser.jar.all().filter((c) => c.name.startsWith('authgate_tx_'));

    it(`never holds more than ${MAX_OPEN_TRANSACTIONS} authgate_tx_* cookies`, async () => {
      for (let i = 1; i <= 7; i += 1) {
        const response = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=/login-${i}`);
        await response.body?.cancel();
        assert.equal(response.status, 302);
        locations.push(String(response.headers.get('location')));
        held.push(transactionCookies().length);
      }
      assert.equal(MAX_OPEN_TRANSACTIONS, 5);
      assert.ok(
        held.every((n) => n <= MAX_OPEN_TRANSACTIONS),
        `transaction cookies held after each of the 7 starts: ${held.join(', ')} (cap ${MAX_OPEN_TRANSACTIONS}); ` +
          `their Path is ${transactionCookies()[0]?.path ?? '?'}, a login start is only sent cookies whose Path covers /oauth2/start`,
      );
    });

    it('the newest login still completes and lands on its rd', async () => {
      assert.equal(locations.length, 7);
      const result = await browser.login(locations[6] ?? '', 'alice');
      assert.equal(result.response?.status, 200);
      assert.equal(result.visited[result.visited.length - 1], `${stack.publicUrl}/login-7`);
      assert.ok(browser.jar.get('authgate'), 'no session cookie after the newest login');
    });
  });
});
