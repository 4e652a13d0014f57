/**
 * Forwarding headers at the upstream come from the gateway alone: X-Forwarded-For/Proto/Host/Port/Prefix,
 * X-Real-IP and Forwarded (RFC 7239) are set from what the gateway knows (addresses only through
 * server.trustedProxies), and client copies of the other forwarding and original-URL headers apps believe
 * (X-Original-URL, X-Forwarded-Uri, True-Client-IP, …) never reach it, in any case and with underscores,
 * over HTTP and on WebSocket upgrades.
 */
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from './ws-fixtures.js';

/** Every forwarding header a client might spoof, as a client spells it, with a recognisable value. */
const SPOOFED: Record<string, string> = {
  Forwarded: 'for=6.6.6.6;proto=https;host=spoofed.example',
  'X-Real-IP': '6.6.6.6',
  'X-Forwarded-For': '6.6.6.6',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': 'spoofed.example',
  'X-Forwarded-Port': '6666',
  'X-Forwarded-Prefix': '/spoofed',
  'X-Original-URL': '/spoofed/admin',
  'X-Original-URI': '/spoofed/admin',
  'X-Rewrite-URL': '/spoofed/admin',
  'X-Forwarded-Uri': '/spoofed/admin',
  'X-Forwarded-Path': '/spoofed/admin',
  'X-Forwarded-Server': 'spoofed.example',
  'X-Forwarded-Scheme': 'https',
  'X-Forwarded-Ssl': 'on',
  'X-Url-Scheme': 'https',
  'Front-End-Https': 'on',
  'X-Client-IP': '6.6.6.6',
  'True-Client-IP': '6.6.6.6',
  'CF-Connecting-IP': '6.6.6.6',
  'X-Cluster-Client-IP': '6.6.6.6',
  'Client-IP': '6.6.6.6',
  'X-Host': 'spoofed.example',
};

/** The same headers with underscores (a proxy or framework may map them to dashes) and upper case. */
const SPOOFED_UNDERSCORE = Object.fromEntries(Object.entries(SPOOFED).map(([name, value]) => [name.replaceAll('-', '_').toUpperCase(), value]));

/** Names that must not reach the upstream at all (no gateway value either), canonical form. */
const NEVER = Object.keys(SPOOFED)
  .map((name) => name.toLowerCase())
  .filter((name) => !['forwarded', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix'].includes(name));

/** A GET with headers fetch would refuse (underscored names); resolves with the status. */
function rawGet(base: string, target: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Asserts no spoofed value and no never-forwarded name reached the upstream, whatever its spelling. */
function assertNothingSpoofed(seen: IncomingHttpHeaders | Record<string, unknown>, where: string): void {
  for (const [name, value] of Object.entries(seen)) {
    const canonical = name.replaceAll('_', '-');
    assert.ok(!NEVER.includes(canonical), `${where}: ${name} reached the upstream`);
    assert.ok(!name.includes('_'), `${where}: ${name} reached the upstream`);
    assert.doesNotMatch(String(value), /6\.6\.6\.6|spoofed|6666/, `${where}: ${name} carries a spoofed value`);
  }
}

describe('forwarding headers from an untrusted client', () => {
  let stack: Stack;
  let ws: RecordingWsUpstream;
  let cookie: string;
  let host: string;
  let port: string;

  before(async () => {
    ws = await startRecordingWsUpstream();
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['10.0.0.0/8'];
        c.upstreams.unshift(
          { name: 'mounted', path: '/Mounted/App/', url: c.upstreams[0].url, stripPrefix: true },
          { name: 'kept', path: '/kept', url: c.upstreams[0].url },
          { name: 'ws', path: '/ws', url: ws.url },
        );
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    host = new URL(stack.publicUrl).host;
    port = new URL(stack.publicUrl).port;
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  for (const [label, spoofed] of [
    ['as named', SPOOFED],
    ['upper case with underscores', SPOOFED_UNDERSCORE],
  ] as const) {
    it(`${label}: none reaches the upstream; X-Real-IP, Forwarded, X-Forwarded-* are the gateway's`, async () => {
      assert.equal(await rawGet(stack.gateway.url, '/reports?q=1', { accept: 'application/json', cookie, ...spoofed }), 200);
      const seen = stack.upstream.last()?.headers ?? {};
      assertNothingSpoofed(seen, '/reports');
      assert.equal(seen['x-real-ip'], '127.0.0.1');
      assert.equal(seen['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.forwarded, `for=127.0.0.1;proto=http;host="${host}"`);
      assert.equal(seen['x-forwarded-proto'], 'http');
      assert.equal(seen['x-forwarded-host'], host);
      assert.equal(seen['x-forwarded-port'], port);
      assert.equal(seen['x-forwarded-prefix'], undefined, 'no prefix without stripPrefix');
    });
  }

  it('X-Forwarded-Prefix is the route path with stripPrefix, absent without it', async () => {
    assert.equal(await rawGet(stack.gateway.url, '/mounted/app/page', { accept: 'application/json', cookie, ...SPOOFED }), 200);
    const mounted = stack.upstream.last();
    assert.equal(mounted?.url, '/page');
    assert.equal(mounted?.headers['x-forwarded-prefix'], '/Mounted/App');
    assertNothingSpoofed(mounted?.headers ?? {}, '/mounted');

    assert.equal(await rawGet(stack.gateway.url, '/kept/page', { accept: 'application/json', cookie, ...SPOOFED }), 200);
    const kept = stack.upstream.last();
    assert.equal(kept?.url, '/kept/page');
    assert.equal(kept?.headers['x-forwarded-prefix'], undefined);
  });

  it('a WebSocket upgrade gets the same: nothing spoofed, the gateway’s forwarding headers', async () => {
    const upgrade = ws.nextUpgrade();
    const socket = await openWebSocket(`${stack.publicUrl.replace('http', 'ws')}/ws/live`, { cookie, ...SPOOFED, ...SPOOFED_UNDERSCORE });
    const seen = await upgrade;
    assertNothingSpoofed(seen, 'websocket');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen.forwarded, `for=127.0.0.1;proto=http;host="${host}"`);
    assert.equal(seen['x-forwarded-port'], port);
    assert.equal(await socket.echo('hi'), 'hi');
    socket.ws.close();
  });
});

describe('forwarding headers from a trusted proxy', () => {
  let stack: Stack;
  let ws: RecordingWsUpstream;
  let cookie: string;
  let host: string;

  before(async () => {
    ws = await startRecordingWsUpstream();
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32', '2001:db8::/32'];
        c.upstreams.unshift({ name: 'ws', path: '/ws', url: ws.url }, { name: 'open', path: '/open', auth: 'public' });
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    host = new URL(stack.publicUrl).host;
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  const chain = { 'x-forwarded-for': '1.1.1.1, 203.0.113.7, 2001:db8::1' };

  it('keeps the trusted chain in X-Forwarded-For and Forwarded (IPv6 bracketed), X-Real-IP is the client', async () => {
    assert.equal(await rawGet(stack.gateway.url, '/whoami', { accept: 'application/json', cookie, ...SPOOFED, ...chain }), 200);
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 2001:db8::1, 127.0.0.1');
    assert.equal(seen.forwarded, `for=203.0.113.7;proto=http;host="${host}", for="[2001:db8::1]", for=127.0.0.1`);
    assert.equal(seen['x-real-ip'], '203.0.113.7');
    assert.doesNotMatch(JSON.stringify(seen), /1\.1\.1\.1/);
    for (const name of NEVER) assert.equal(seen[name], undefined, `${name} from a trusted proxy reached the upstream`);
  });

  it('a WebSocket upgrade through the trusted proxy keeps the same chain', async () => {
    const upgrade = ws.nextUpgrade();
    const socket = await openWebSocket(`${stack.publicUrl.replace('http', 'ws')}/ws/live`, { cookie, ...SPOOFED, ...chain });
    const seen = await upgrade;
    assert.equal(seen['x-forwarded-for'], '203.0.113.7, 2001:db8::1, 127.0.0.1');
    assert.equal(seen.forwarded, `for=203.0.113.7;proto=http;host="${host}", for="[2001:db8::1]", for=127.0.0.1`);
    assert.equal(seen['x-real-ip'], '203.0.113.7');
    for (const name of NEVER) assert.equal(seen[name], undefined, `websocket: ${name} reached the upstream`);
    socket.ws.close();
  });

  it('forward-auth still reads X-Forwarded-Uri from its trusted peer: a signed-out check of a public URI is allowed', async () => {
    const check = (uri: string) =>
      fetch(`${stack.gateway.url}/oauth2/auth`, { headers: { accept: 'application/json', 'x-forwarded-uri': uri, 'x-forwarded-host': host } });
    assert.equal((await check('/open/x')).status, 202); // forward-auth's "allowed, no identity"
    assert.equal((await check('/reports')).status, 401);
  });
});
