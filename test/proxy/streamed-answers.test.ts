/**
 * How upstream answers reach the client: an answer of unknown length (an event stream) as it comes, a large
 * one whole, a small one with its own headers and nothing added, HEAD/204/304 without a body, and an
 * upstream that breaks off mid-answer as a 502 (small answer, nothing sent yet) or a cut connection.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

const BIG = Buffer.alloc(1024 * 1024, 'a');

describe('upstream answers relayed to the client', () => {
  let stack: Stack;
  let alice: BrowserClient;
  let heldStream: ServerResponse | undefined;
  let streamStarted: () => void = () => undefined;
  const app = createServer((req, res) => {
    req.resume();
    switch (req.url) {
      case '/answers/events':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        heldStream = res;
        streamStarted();
        return;
      case '/answers/big':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) }).end(BIG);
        return;
      case '/answers/untyped':
        res.writeHead(200, { 'content-length': '5', 'x-app': 'yes' }).end('plain');
        return;
      case '/answers/typed':
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': '11', 'cache-control': 'no-store' }).end('{"ok":true}');
        return;
      case '/answers/empty':
        res.writeHead(204, { 'x-app': 'empty' }).end();
        return;
      case '/answers/cached':
        res.writeHead(304, { etag: '"v1"' }).end();
        return;
      case '/answers/cut-small':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('only ten b');
        res.socket?.destroy();
        return;
      case '/answers/cut-big':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BIG.length) });
        res.write(BIG.subarray(0, 100_000));
        setImmediate(() => res.socket?.destroy());
        return;
      case '/answers/odd-status':
        res.writeHead(999, { 'content-type': 'text/plain', 'content-length': '3' }).end('odd');
        return;
      case '/answers/odd-status-stream':
        res.writeHead(999, { 'content-type': 'text/plain' }).end('odd');
        return;
      default:
        res.writeHead(404).end();
    }
  });

  before(async () => {
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    stack = await startStack({ configure: (c) => c.upstreams.push({ name: 'answers', path: '/answers', url, stripPrefix: false }) });
    alice = await stack.signIn('alice');
  });
  after(async () => {
    heldStream?.end();
    await stack.close();
    app.close();
  });

  it('relays an event stream as it comes: the first event arrives while the upstream still holds the stream open', async () => {
    const started = new Promise<void>((resolve) => (streamStarted = resolve));
    const response = await alice.fetch(`${stack.publicUrl}/answers/events`);
    await started;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value ?? []).toString(), 'data: first\n\n');
    heldStream?.end('data: last\n\n');
    const rest: Uint8Array[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest.push(chunk.value);
    assert.equal(Buffer.concat(rest).toString(), 'data: last\n\n');
  });

  it('relays a 1 MiB answer whole, with its length', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/answers/big`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(BIG.length));
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(BIG));
  });

  it('relays a small answer with its status and headers, and adds no content type of its own', async () => {
    const typed = await alice.fetch(`${stack.publicUrl}/answers/typed`);
    assert.equal(typed.status, 201);
    assert.equal(typed.headers.get('content-type'), 'application/json');
    assert.equal(typed.headers.get('cache-control'), 'no-store');
    assert.equal(await typed.text(), '{"ok":true}');
    const untyped = await alice.fetch(`${stack.publicUrl}/answers/untyped`);
    assert.equal(untyped.headers.get('content-type'), null);
    assert.equal(untyped.headers.get('x-app'), 'yes');
    assert.equal(await untyped.text(), 'plain');
  });

  it('a status the gateway cannot relay (999) is a 502, whether the answer is gathered or streamed', async () => {
    for (const path of ['odd-status', 'odd-status-stream']) {
      const response = await alice.fetch(`${stack.publicUrl}/answers/${path}`, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 502, path);
      assert.equal(((await response.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE');
    }
  });

  it('HEAD keeps the upstream length without a body; 204 and 304 come without one', async () => {
    const head = await alice.fetch(`${stack.publicUrl}/answers/big`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(BIG.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const empty = await alice.fetch(`${stack.publicUrl}/answers/empty`);
    assert.equal(empty.status, 204);
    assert.equal(empty.headers.get('x-app'), 'empty');
    const cached = await alice.fetch(`${stack.publicUrl}/answers/cached`);
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.get('etag'), '"v1"');
  });

  it('an upstream that breaks off a small answer gets the 502 page; a large one is cut short, never passed off as whole', async () => {
    const small = await alice.fetch(`${stack.publicUrl}/answers/cut-small`, { headers: { accept: 'application/json' } });
    assert.equal(small.status, 502);
    assert.equal(((await small.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE');
    const big = await alice.fetch(`${stack.publicUrl}/answers/cut-big`);
    assert.equal(big.status, 200);
    await assert.rejects(big.arrayBuffer(), 'the body ends in an error, not as a shorter whole');
    // A request with a body: its stream has ended (and let go of its socket) before the upstream answers.
    const posted = await alice.fetch(`${stack.publicUrl}/answers/cut-small`, { method: 'POST', body: 'form=1', headers: { accept: 'application/json', 'content-type': 'text/plain' } });
    assert.equal(posted.status, 502);
    const typedPost = await alice.fetch(`${stack.publicUrl}/answers/typed`, { method: 'POST', body: 'x'.repeat(10_000), headers: { 'content-type': 'text/plain' } });
    assert.equal(typedPost.status, 201);
    assert.equal(await typedPost.text(), '{"ok":true}');
    const still = await alice.fetch(`${stack.publicUrl}/answers/typed`);
    assert.equal(still.status, 201, 'the session and the gateway go on');
  });
});
