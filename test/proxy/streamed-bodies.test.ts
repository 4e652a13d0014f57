/**
 * Request bodies are streamed to the upstream, not buffered (a first chunk arrives before the client sends
 * the rest; 20 MiB pass whole), and one browser holds at most 5 open login transactions.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_OPEN_TRANSACTIONS } from '../../src/session/transaction.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { send, within } from './http-send.js';

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
