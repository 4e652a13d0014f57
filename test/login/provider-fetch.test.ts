/**
 * The provider calls' fetch (undici's request API behind openid-client) answers as the global fetch would:
 * status, headers and body; a form body sent as form; no redirect followed; network failures as
 * TypeError "fetch failed"; an expired signal as its reason; and an oversized answer refused (as a failed fetch: the provider is failing).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createProviderFetch, MAX_PROVIDER_RESPONSE_BYTES, ProviderResponseTooLarge } from '../../src/oidc/provider-fetch.js';
import { freePort } from '../helpers/gateway.js';

describe('provider fetch', () => {
  let server: Server;
  let base: string;
  const http = createProviderFetch();
  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/echo') {
          response.writeHead(201, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
          response.end(JSON.stringify({ method: request.method, type: request.headers['content-type'], auth: request.headers.authorization, body }));
        } else if (request.url === '/moved') {
          response.writeHead(302, { location: '/echo' }).end();
        } else if (request.url === '/empty') {
          response.writeHead(204).end();
        } else if (request.url === '/huge') {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(Buffer.alloc(MAX_PROVIDER_RESPONSE_BYTES + 1, 0x20));
        } else if (request.url === '/slow') {
          setTimeout(() => response.end('late'), 2000).unref();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await http.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (body: unknown, signal?: AbortSignal) =>
    ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' }, body, redirect: 'manual', signal }) as never;

  it('sends a form body and returns status, headers and body', async () => {
    const response = await http.fetch(`${base}/echo`, post(new URLSearchParams({ grant_type: 'authorization_code', code: 'a b' })));
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('x-two'), 'a, b');
    assert.deepEqual(await response.clone().json(), {
      method: 'POST',
      type: 'application/x-www-form-urlencoded',
      auth: 'Basic eDp5',
      body: 'grant_type=authorization_code&code=a+b',
    });
    assert.equal(typeof (await response.text()), 'string');
  });

  it('does not follow redirects, and answers a 204 without a body', async () => {
    const moved = await http.fetch(`${base}/moved`, { method: 'GET', headers: {}, redirect: 'manual' } as never);
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), '/echo');
    const empty = await http.fetch(`${base}/empty`, { method: 'GET', headers: {}, redirect: 'manual' } as never);
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  it('throws a TypeError "fetch failed" when nothing listens, and the timeout when the signal expires', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/`;
    await assert.rejects(http.fetch(closed, post('x')), (err: Error) => err instanceof TypeError && err.message === 'fetch failed');
    await assert.rejects(http.fetch(`${base}/slow`, post('x', AbortSignal.timeout(100))), (err: Error) => err.name === 'TimeoutError');
  });

  it('refuses an answer larger than the limit', async () => {
    await assert.rejects(
      http.fetch(`${base}/huge`, post('x')),
      (err: Error) => err instanceof TypeError && err.message === 'fetch failed' && err.cause instanceof ProviderResponseTooLarge,
    );
  });
});
