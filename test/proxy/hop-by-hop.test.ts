/**
 * Hop-by-hop headers stay on their hop. A client's `Expect: 100-continue` is answered by the gateway itself
 * and the body reaches the upstream whole (undici refuses an `expect` header: it used to be a 502); a client's
 * other hop-by-hop request headers do not break the request; an upstream's Connection, Keep-Alive and the
 * headers its Connection lists do not reach the client, so a client's `Connection: close` is honoured.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

/** What a raw exchange saw: status, headers, and whether the gateway closed the socket afterwards. */
interface RawExchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  closedByPeer: Promise<void>;
}

/** A request on its own socket; with `expectBody`, the body is written only after the 100 Continue. */
function rawRequest(base: string, target: string, options: { method?: string; headers: Record<string, string>; expectBody?: Buffer }): Promise<RawExchange> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const closedByPeer = new Promise<void>((done) => res.socket.once('close', () => done()));
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, closedByPeer }));
    });
    req.on('error', reject);
    const payload = options.expectBody;
    if (payload) req.once('continue', () => req.end(payload));
    else req.end();
  });
}

describe('hop-by-hop headers', () => {
  let stack: Stack;
  let chatty: Server;
  let cookie: string;

  before(async () => {
    // An upstream that insists on its own connection terms.
    chatty = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'text/plain',
          connection: 'keep-alive, X-Hop-Secret',
          'keep-alive': 'timeout=600, max=1000',
          'proxy-connection': 'keep-alive',
          'x-hop-secret': 'only-for-the-gateway',
          'x-app': 'kept',
        });
        res.end('chatty');
      });
    });
    await new Promise<void>((resolve) => chatty.listen(0, '127.0.0.1', resolve));
    const chattyUrl = `http://127.0.0.1:${(chatty.address() as AddressInfo).port}`;
    stack = await startStack({
      configure: (c) => {
        c.upstreams.unshift({ name: 'chatty', path: '/chatty', url: chattyUrl });
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
  });
  after(async () => {
    await stack.close();
    await new Promise<void>((resolve) => {
      chatty.close(() => resolve());
      chatty.closeAllConnections();
    });
  });

  it('Expect: 100-continue with a 2 MB body: 100 from the gateway, 200, every byte at the upstream', async () => {
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = 0x41 + (i % 26);
    const answer = await rawRequest(stack.gateway.url, '/upload', {
      method: 'POST',
      headers: { cookie, accept: 'application/json', expect: '100-continue', 'content-type': 'application/octet-stream', 'content-length': String(payload.length) },
      expectBody: payload,
    });
    assert.equal(answer.status, 200, answer.body);
    const seen = stack.upstream.last();
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.headers.expect, undefined);
    assert.equal(seen?.body.length, payload.length);
    assert.equal(createHash('sha256').update(seen?.body ?? '').digest('hex'), createHash('sha256').update(payload).digest('hex'));
  });

  it('a client’s hop-by-hop request headers (Keep-Alive, Proxy-Connection, TE, Upgrade) do not break the request or reach the upstream', async () => {
    const answer = await rawRequest(stack.gateway.url, '/x', {
      headers: { cookie, accept: 'application/json', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', te: 'trailers', upgrade: 'h2c' },
    });
    assert.equal(answer.status, 200, answer.body);
    const seen = stack.upstream.last()?.headers ?? {};
    for (const name of ['keep-alive', 'proxy-connection', 'te', 'upgrade']) assert.equal(seen[name], undefined, name);
  });

  it('a client’s Connection header cannot strip what the gateway sets: token, identity, forwarding and Host', async () => {
    const answer = await rawRequest(stack.gateway.url, '/x', {
      headers: { cookie, accept: 'application/json', connection: 'keep-alive, Authorization, X-Forwarded-User, x-forwarded-for, host' },
    });
    assert.equal(answer.status, 200, answer.body);
    const seen = stack.upstream.last()?.headers ?? {};
    assert.match(String(seen.authorization), /^Bearer \S+/);
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.host, new URL(stack.upstream.url).host);
  });

  it('Connection: close from the client gets Connection: close back and the socket closes, though the upstream says keep-alive', async () => {
    const answer = await rawRequest(stack.gateway.url, '/chatty/page', { headers: { cookie, accept: 'application/json', connection: 'close' } });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.body, 'chatty');
    assert.equal(answer.headers.connection, 'close');
    await answer.closedByPeer;
  });

  it('the upstream’s Keep-Alive, Proxy-Connection and the headers its Connection lists never reach the client', async () => {
    const answer = await rawRequest(stack.gateway.url, '/chatty/page', { headers: { cookie, accept: 'application/json' } });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.headers['x-app'], 'kept');
    assert.equal(answer.headers['x-hop-secret'], undefined);
    assert.equal(answer.headers['proxy-connection'], undefined);
    assert.doesNotMatch(String(answer.headers['keep-alive']), /600|max=1000/);
    assert.doesNotMatch(String(answer.headers.connection), /x-hop-secret/i);
  });
});
