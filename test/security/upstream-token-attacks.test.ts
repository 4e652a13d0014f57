/**
 * Tokens per upstream, attacked from outside (docs/upstream-tokens.md): a client that smuggles its own token
 * into the configured header (any case, "_" for "-", duplicates), one upstream's token reaching another
 * (sibling prefixes, stripPrefix), forward-auth handing out a token the route does not get, a token in the
 * log, in /oauth2/userinfo or in an error page, and a cached token served after sign-out to a replayed cookie.
 * Every case goes through real HTTP to the real test provider and a recording upstream.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { BrowserClient } from '../helpers/browser-client.js';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { ACR_MFA, sessionOf, startStepUpStack } from '../login/step-up-fixtures.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from '../proxy/ws-fixtures.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';

const API = { accept: 'application/json' };

/** What the upstream received for a request (its echo), and the status. */
async function seen(stack: Stack, browser: BrowserClient, path: string, headers: Record<string, string> = API) {
  const response = await browser.fetch(`${stack.publicUrl}${path}`, { headers });
  const text = await response.text();
  const body = response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { headers?: Record<string, string>; url?: string }) : {};
  return { status: response.status, headers: body.headers ?? {}, text, url: body.url };
}

/** A GET with raw header lines (repeated names stay repeated, any spelling), as a hostile client sends them. */
function rawGet(url: string, cookie: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lines = [['Host', target.host], ['Accept', 'application/json'], ['Cookie', cookie], ...headers].flat();
    const req = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, agent: false, headers: lines as never });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The names of the headers the upstream received that a proxy could read as `name` (any case, "_" for "-"). */
const spellingsOf = (headers: Record<string, string>, name: string) => Object.keys(headers).filter((h) => h.toLowerCase().replaceAll('_', '-') === name.toLowerCase().replaceAll('_', '-'));

describe('upstream token header smuggling', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.upstreams.push({ name: 'orders', path: '/orders', url, accessToken: { audience: 'orders-api', header: 'X-Orders-Token' } });
        // A header name with "_": proxies that map "_" to "-" (nginx with underscores_in_headers, CGI, PHP)
        // read a client's X-Billing-Token as the same header.
        c.upstreams.push({ name: 'billing', path: '/billing', url, accessToken: { audience: 'billing-api', header: 'X_Billing_Token' } });
        c.upstreams.push({ name: 'public', path: '/pub', url, auth: 'public', accessToken: { header: 'X-Orders-Token' } });
      },
    });
  });
  after(() => stack.close());

  it('a client copy of the token header in any case, with underscores or repeated never reaches the upstream', async () => {
    const alice = await stack.signIn('alice');
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    const answer = await rawGet(`${stack.publicUrl}/orders/a`, cookie, [
      ['X-Orders-Token', 'forged-1'],
      ['x-orders-token', 'forged-2'],
      ['X_ORDERS_TOKEN', 'forged-3'],
      ['x-orders_token', 'forged-4'],
    ]);
    assert.equal(answer.status, 200);
    const headers = (JSON.parse(answer.body) as { headers: Record<string, string> }).headers;
    assert.deepEqual(spellingsOf(headers, 'x-orders-token'), ['x-orders-token']);
    assert.doesNotMatch(headers['x-orders-token'] ?? '', /forged/);
    assert.equal(decodeJwt(headers['x-orders-token'] ?? '').aud, 'orders-api');
  });

  it('a configured header name with underscores is not spoofable through its dash spelling', async () => {
    const alice = await stack.signIn('alice');
    const answer = await seen(stack, alice, '/billing/a', { ...API, 'x-billing-token': 'forged-dash', 'X-BILLING_TOKEN': 'forged-mixed' });
    assert.equal(answer.status, 200);
    const spellings = spellingsOf(answer.headers, 'x-billing-token');
    assert.deepEqual(spellings, ['x_billing_token'], 'only the gateway copy, in the configured spelling');
    assert.equal(decodeJwt(answer.headers.x_billing_token ?? '').aud, 'billing-api');
  });

  it('an obs-folded token header or one with a NUL is refused with 400 and reaches nothing', async () => {
    const alice = await stack.signIn('alice');
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    const url = new URL(stack.publicUrl);
    for (const line of ['X-Orders-Token: forged\r\n folded', 'X-Orders-Token : forged', 'X-Orders-Token: a\0b']) {
      const seenBefore = stack.upstream.requests.length;
      const status = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write(`GET /orders/a HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\nCookie: ${cookie}\r\n${line}\r\nConnection: close\r\n\r\n`);
        });
        let answer = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('end', () => resolve(answer.split('\r\n', 1)[0] ?? ''));
        socket.on('error', reject);
      });
      assert.match(status, /^HTTP\/1\.1 400 /, JSON.stringify(line));
      assert.equal(stack.upstream.requests.length, seenBefore, `${JSON.stringify(line)}: the upstream saw nothing`);
    }
  });

  it('a public route strips client copies of its token header too', async () => {
    const anonymous = stack.browser();
    const answer = await seen(stack, anonymous, '/pub/a', { ...API, 'x-orders-token': 'forged', x_orders_token: 'forged' });
    assert.equal(answer.status, 200);
    assert.deepEqual(spellingsOf(answer.headers, 'x-orders-token'), []);
  });
});

describe('one upstream token never reaches another upstream', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.server.trustedProxies = ['127.0.0.1/32'];
        c.upstreams.push({ name: 'orders', path: '/orders', url, stripPrefix: true, accessToken: { audience: 'orders-api' }, authRequestAccessToken: true });
        c.upstreams.push({ name: 'orders-admin', path: '/orders-admin', url, accessToken: { audience: 'admin-api' } });
      },
    });
  });
  after(() => stack.close());

  it('sibling prefixes and the catch-all each get their own token, whatever the path spelling', async () => {
    const alice = await stack.signIn('alice');
    const tokenAt = async (path: string) => {
      const answer = await seen(stack, alice, path);
      assert.equal(answer.status, 200, path);
      return (answer.headers.authorization ?? '').replace(/^Bearer /, '');
    };
    // The session token is opaque at the test provider; the exchanged ones are JWTs naming their audience.
    const audienceAt = async (path: string) => decodeJwt(await tokenAt(path)).aud;
    const session = await tokenAt('/x');
    assert.equal(await audienceAt('/orders/a'), 'orders-api');
    assert.equal(await audienceAt('/orders-admin/a'), 'admin-api');
    assert.equal(await tokenAt('/ordersx'), session, 'a longer name is not under /orders');
    assert.equal(await tokenAt('/orders/../x'), session, 'a dot segment leaves /orders and its token');
    assert.equal(await audienceAt('/%6Frders/a'), 'orders-api');
    assert.equal(await audienceAt('/orders/../orders-admin/a'), 'admin-api');
  });

  it('forward-auth hands the trusted proxy the token of the route, never the session token', async () => {
    const alice = await stack.signIn('alice');
    const sessionToken = (await seen(stack, alice, '/x')).headers.authorization?.replace(/^Bearer /, '');
    const ordersToken = (await seen(stack, alice, '/orders/a')).headers.authorization?.replace(/^Bearer /, '');
    const answer = await alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { ...API, 'x-forwarded-uri': '/orders/a' } });
    assert.equal(answer.status, 202);
    const handed = answer.headers.get('x-auth-request-access-token');
    assert.notEqual(handed, sessionToken, 'the session token is broader than the route may hold');
    assert.equal(decodeJwt(handed ?? '').aud, 'orders-api');
    assert.equal(handed, ordersToken);
    // Two originals whose routes need different tokens (a proxy passing a client copy of one): neither token.
    const mixed = await alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { ...API, 'x-forwarded-uri': '/orders/a', 'x-forwarded-host': new URL(stack.publicUrl).host, 'x-original-url': `${stack.publicUrl}/x` } });
    assert.equal(mixed.status, 202);
    assert.equal(mixed.headers.get('x-auth-request-access-token'), null);
  });
});

describe('upstream tokens stay out of sight', () => {
  let stack: Stack;
  let redis: StartedRedis;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    stack = await startStack({
      configure: (c) => {
        c.session = { ...c.session, store: 'redis', redis: { url: redis.url } };
        const url = c.upstreams[0]?.url;
        c.upstreams.push({ name: 'orders', path: '/orders', url, accessToken: { audience: 'orders-api', header: 'X-Forwarded-Access-Token' } });
        c.upstreams.push({ name: 'refused', path: '/refused', url, accessToken: { audience: 'refused-api' } });
      },
    });
    stack.idp.upstreamTokens.refusedAudiences.add('refused-api');
  });
  after(async () => {
    client.disconnect();
    await stack.close();
    await redis.close();
  });

  it('neither the log, /oauth2/userinfo nor an error page shows an upstream token or the session token', async () => {
    const alice = await stack.signIn('alice');
    const sessionToken = (await seen(stack, alice, '/x')).headers.authorization?.replace(/^Bearer /, '') ?? '';
    const ordersToken = (await seen(stack, alice, '/orders/a')).headers['x-forwarded-access-token'] ?? '';
    assert.ok(sessionToken.length > 20 && ordersToken.length > 20);
    const refused = await alice.fetch(`${stack.publicUrl}/refused/a`, { headers: { accept: 'text/html' } });
    assert.equal(refused.status, 502);
    const page = await refused.text();
    const userinfo = await (await alice.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: API })).text();
    const log = JSON.stringify(stack.gateway.logEntries());
    // Redis holds the token sealed (whoever reads Redis learns no token).
    const stored: string[] = [];
    for (const key of await client.keys('authgate:*')) {
      const type = await client.type(key);
      if (type === 'hash') stored.push(...Object.values(await client.hgetall(key)));
      else if (type === 'string') stored.push((await client.get(key)) ?? '');
    }
    assert.ok(stored.length > 0);
    for (const [where, text] of [['error page', page], ['userinfo', userinfo], ['log', log], ['Redis', stored.join('\n')]] as const) {
      assert.ok(!text.includes(ordersToken), `the upstream token is not in the ${where}`);
      assert.ok(!text.includes(sessionToken), `the session token is not in the ${where}`);
    }
  });

  it('after sign-out a replayed cookie gets no cached upstream token (Redis store)', async () => {
    const alice = await stack.signIn('alice');
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    assert.equal((await seen(stack, alice, '/orders/a')).status, 200);
    const out = await alice.fetch(`${stack.publicUrl}/oauth2/sign_out`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', origin: stack.publicUrl } });
    assert.ok(out.status === 302 || out.status === 303, `sign-out answered ${out.status}`);
    const seenBefore = stack.upstream.requests.length;
    const replay = await rawGet(`${stack.publicUrl}/orders/b`, cookie, []);
    assert.equal(replay.status, 401);
    assert.equal(stack.upstream.requests.length, seenBefore, 'the upstream saw nothing');
  });
});

describe('upstream tokens across a reload and a step-up', () => {
  let stack: Stack;
  let tree: ConfigTree | undefined;
  before(async () => {
    stack = await startStepUpStack({
      configure: (c) => {
        const url = c.upstreams.at(-1)?.url;
        c.upstreams.unshift(
          { name: 'orders', path: '/orders', url, accessToken: { audience: 'orders-api' } },
          { name: 'billing', path: '/billing', url, accessToken: { audience: 'billing-api' } },
        );
        tree = structuredClone(c);
      },
    });
  });
  after(() => stack.close());

  const audienceAt = async (browser: BrowserClient, path: string) => {
    const answer = await seen(stack, browser, path);
    assert.equal(answer.status, 200, path);
    return decodeJwt((answer.headers.authorization ?? '').replace(/^Bearer /, '')).aud;
  };

  it('a reload that swaps two upstream names serves each route the token of its own audience', async () => {
    const alice = await stack.signIn('alice');
    assert.equal(await audienceAt(alice, '/orders/a'), 'orders-api');
    assert.equal(await audienceAt(alice, '/billing/a'), 'billing-api');
    const swapped = structuredClone(tree!);
    const [orders, billing] = swapped.upstreams;
    if (orders && billing) [orders.name, billing.name] = ['billing', 'orders'];
    stack.gateway.gateway.reload(parseConfigText(stringify(swapped), 'swapped', {}));
    try {
      assert.equal(await audienceAt(alice, '/orders/b'), 'orders-api', 'the cached token of the old "orders" is not served');
      assert.equal(await audienceAt(alice, '/billing/b'), 'billing-api');
    } finally {
      stack.gateway.gateway.reload(parseConfigText(stringify(tree), 'restored', {}));
    }
  });

  it('after a step-up upgrade the exchanged token comes from the upgraded session token', async () => {
    const alice = await stack.signIn('alice');
    const weakToken = (await seen(stack, alice, '/orders/a')).headers.authorization;
    const weak = await sessionOf(stack, alice);
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    assert.equal((await alice.login(`${stack.publicUrl}/mfa/x`, 'alice')).response?.status, 200);
    const strong = await sessionOf(stack, alice);
    assert.notEqual(strong?.id, weak?.id);
    const strongToken = (await seen(stack, alice, '/orders/b')).headers.authorization;
    assert.notEqual(strongToken, weakToken, 'the token exchanged for the weak session is not reused');
    const exchange = stack.idp.upstreamTokens.exchanges.at(-1);
    assert.equal(exchange?.subjectJti, strong?.tokens.accessToken, 'exchanged from the upgraded session token');
    assert.equal(exchange?.audience, 'orders-api');
  });
});

describe('upstream tokens on a WebSocket upgrade', () => {
  let stack: Stack;
  let ws: RecordingWsUpstream;
  before(async () => {
    ws = await startRecordingWsUpstream();
    stack = await startStack({
      configure: (c) => {
        c.upstreams.unshift({ name: 'live', path: '/live', url: ws.url, websocket: true, accessToken: { audience: 'live-api', header: 'X-Live-Token' } });
      },
    });
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  it('the upgrade carries the route token in its header, and no client copy of it', async () => {
    const alice = await stack.signIn('alice');
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    const upgrade = ws.nextUpgrade();
    const opened = await openWebSocket(`${stack.publicUrl.replace('http:', 'ws:')}/live/feed`, { cookie, 'X-Live-Token': 'forged', x_live_token: 'forged', 'x-live_token': 'forged' });
    const headers = await upgrade;
    opened.ws.close();
    const spellings = Object.keys(headers).filter((h) => h.replaceAll('_', '-') === 'x-live-token');
    assert.deepEqual(spellings, ['x-live-token']);
    assert.equal(decodeJwt(String(headers['x-live-token'])).aud, 'live-api', 'the route token, not a forged one');
    assert.equal(headers.authorization, undefined, 'the session token is not sent beside it');
  });
});
