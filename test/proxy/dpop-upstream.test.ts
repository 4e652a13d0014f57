/**
 * DPoP towards upstreams: a session whose token is DPoP-bound reaches the upstream as `Authorization: DPoP`
 * with a fresh proof per request, checked here as a resource server would check it (signature by the
 * embedded key, that key's thumbprint = the token's cnf.jkt from the provider's introspection, ath, htm and
 * htu of the request as the upstream received it). A client's own DPoP header never reaches an upstream.
 * Forward-auth hands its trusted proxy the bound token as it is: it cannot know the upstream URL to prove.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type Stack } from '../helpers/gateway.js';
import type { RecordedRequest } from '../helpers/upstream.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from './ws-fixtures.js';

/** The provider's introspection of a token, asked as the gateway's client (what an upstream could ask). */
async function introspect(stack: Stack, token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${stack.idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** Checks a proxied request's DPoP as a resource server does; resolves to the proof's claims. */
async function verifyAtUpstream(stack: Stack, seen: { method: string; headers: Record<string, unknown> }, htu: string): Promise<Record<string, unknown>> {
  const authorization = String(seen.headers.authorization);
  assert.match(authorization, /^DPoP [^ ]+$/);
  const token = authorization.slice('DPoP '.length);
  const proof = seen.headers.dpop;
  assert.equal(typeof proof, 'string', 'exactly one DPoP header');
  const { payload, protectedHeader } = await jwtVerify(proof as string, EmbeddedJWK, { typ: 'dpop+jwt' });
  const answer = await introspect(stack, token);
  assert.equal(answer.active, true);
  assert.equal((answer.cnf as { jkt?: string } | undefined)?.jkt, await calculateJwkThumbprint(protectedHeader.jwk as JWK), "the proof's key is the token's");
  assert.equal(payload.ath, createHash('sha256').update(token).digest('base64url'));
  assert.equal(payload.htm, seen.method);
  assert.equal(payload.htu, htu);
  assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 60);
  assert.equal(typeof payload.jti, 'string');
  return payload;
}

/** Sends a GET with raw header lines (repeated names stay repeated) and the session cookie. */
function rawGet(url: string, cookie: string, headers: Array<[string, string]>): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent: false, headers: [['Host', target.host], ...(cookie ? [['Cookie', cookie]] : []), ...headers].flat() as never });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const CLIENT_PROOFS: Array<Record<string, string>> = [{ DPoP: 'client-proof' }, { dpop: 'client-proof' }, { DPOP: 'client-proof' }];

describe('DPoP to upstreams', () => {
  let stack: Stack;
  let ws: RecordingWsUpstream;
  let alice: BrowserClient;
  before(async () => {
    ws = await startRecordingWsUpstream();
    stack = await startStack({
      configure: (c) => {
        c.oidc.dpop = true;
        c.upstreams.unshift(
          { name: 'api', path: '/api', url: `${c.upstreams[0].url}/base`, stripPrefix: true },
          { name: 'public', path: '/public', url: c.upstreams[0].url, auth: 'public' },
          { name: 'ws', path: '/ws', url: ws.url, websocket: true },
        );
      },
    });
    alice = await stack.signIn('alice');
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  it('sends the bound token with a proof for the URL the upstream receives (stripPrefix, no query)', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/api/items/7?page=2`, { method: 'POST', body: 'x', headers: { DPoP: 'client-proof' } });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last() as RecordedRequest;
    assert.equal(seen.url, '/base/items/7?page=2');
    await verifyAtUpstream(stack, seen, `${stack.upstream.url}/base/items/7`);
  });

  it('signs a fresh proof for every request', async () => {
    const ids = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      assert.equal((await alice.fetch(`${stack.publicUrl}/page`)).status, 200);
      const seen = stack.upstream.last() as RecordedRequest;
      ids.add((await verifyAtUpstream(stack, seen, `${stack.upstream.url}/page`)).jti);
    }
    assert.equal(ids.size, 3);
  });

  it("never forwards a client's own DPoP header, in any spelling or repeated", async () => {
    const cookie = `authgate=${alice.jar.get('authgate')?.value}`;
    for (const headers of CLIENT_PROOFS) {
      await alice.fetch(`${stack.publicUrl}/page`, { headers });
      const seen = stack.upstream.last() as RecordedRequest;
      assert.notEqual(seen.headers.dpop, 'client-proof');
      await verifyAtUpstream(stack, seen, `${stack.upstream.url}/page`);
      await fetch(`${stack.publicUrl}/public/page`, { headers });
      assert.equal(stack.upstream.last()?.headers.dpop, undefined, 'a public route gets no proof at all');
    }
    assert.equal(await rawGet(`${stack.publicUrl}/twice`, cookie, [['DPoP', 'one'], ['dpop', 'two']]), 200);
    await verifyAtUpstream(stack, stack.upstream.last() as RecordedRequest, `${stack.upstream.url}/twice`);
    assert.equal(await rawGet(`${stack.publicUrl}/public/twice`, '', [['DPoP', 'one'], ['DPoP', 'two']]), 200);
    assert.equal(stack.upstream.last()?.headers.dpop, undefined);
  });

  it('proves a WebSocket upgrade as the GET to the upstream http URL', async () => {
    const upgrade = ws.nextUpgrade();
    const opened = await openWebSocket(`${stack.publicUrl.replace('http:', 'ws:')}/ws/chat?room=1`, { cookie: `authgate=${alice.jar.get('authgate')?.value}`, DPoP: 'client-proof' });
    const headers = await upgrade;
    opened.ws.close();
    await verifyAtUpstream(stack, { method: 'GET', headers }, `${ws.url}/ws/chat`);
  });
});

describe('DPoP and forward-auth', () => {
  it('hands the trusted proxy the bound token as it is, with no proof (it cannot know the upstream URL)', async () => {
    const stack = await startStack({
      configure: (c) => {
        c.oidc.dpop = true;
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.unshift({ name: 'tokened', path: '/tokened', authRequestAccessToken: true });
      },
    });
    try {
      const alice = await stack.signIn('alice');
      assert.equal((await alice.fetch(`${stack.publicUrl}/page`)).status, 200);
      const bound = String(stack.upstream.last()?.headers.authorization).replace(/^DPoP /, '');
      const answer = await alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { 'x-forwarded-uri': '/tokened/report', DPoP: 'client-proof' } });
      assert.equal(answer.status, 202);
      assert.equal(answer.headers.get('x-auth-request-access-token'), bound);
      assert.equal(answer.headers.get('dpop'), null);
      assert.equal((await introspect(stack, bound)).token_type, 'DPoP');
    } finally {
      await stack.close();
    }
  });
});

describe('no DPoP to upstreams when it is off', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('sends a Bearer token and no proof; a client DPoP header is still removed', async () => {
    const alice = await stack.signIn('alice');
    for (const headers of CLIENT_PROOFS) {
      assert.equal((await alice.fetch(`${stack.publicUrl}/page`, { headers })).status, 200);
      const seen = stack.upstream.last() as RecordedRequest;
      assert.match(String(seen.headers.authorization), /^Bearer /);
      assert.equal(seen.headers.dpop, undefined);
    }
    const cookie = `authgate=${alice.jar.get('authgate')?.value}`;
    assert.equal(await rawGet(`${stack.publicUrl}/twice`, cookie, [['DPoP', 'one'], ['DPoP', 'two']]), 200);
    assert.equal(stack.upstream.last()?.headers.dpop, undefined);
  });
});
