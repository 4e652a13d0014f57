/**
 * One trusted-proxy matcher: fastify (request.ip, so X-Forwarded-For and X-Real-IP reaching the upstream) and
 * forward-auth (whether /oauth2/auth believes X-Forwarded-Uri) give the same answer for every peer. Each peer is
 * a real socket address: 127.0.0.0/8 is all local on Linux, so the client binds the address it wants; a gateway
 * listening on "::" sees IPv4 peers as IPv4-mapped IPv6 (::ffff:127.0.0.1), and ::1 is an IPv6 peer.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildApp, type Gateway } from '../../src/app.js';
import { parseConfigText } from '../../src/config/load.js';
import { compileTrustedProxies } from '../../src/http/trusted-proxies.js';
import { baseConfig, freePort, startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';

/** A GET from a chosen local address; resolves with the status and body. */
function getFrom(localAddress: string, base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path, localAddress, headers, agent: false },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += String(chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A gateway listening on `host` (the helper's listens on 127.0.0.1 only), its logs discarded. */
async function listenGateway(tree: ConfigTree, host: string, port: number): Promise<Gateway> {
  const config = parseConfigText(stringify(tree), 'test config', {});
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const gateway = await buildApp(config, { logStream: sink });
  await gateway.app.listen({ host, port });
  await gateway.services.providers.whenAllReady;
  return gateway;
}

const CLIENT = '203.0.113.9';

/** One gateway's trusted list and the peers it is asked from: [local address, address the gateway sees, trusted]. */
interface Case {
  label: string;
  listen: '127.0.0.1' | '::';
  trustedProxies: string[];
  peers: Array<[local: string, seen: string, trusted: boolean]>;
}

const IPV4_PEERS = (seen: (v4: string) => string): Case['peers'] => [
  ['127.0.0.1', seen('127.0.0.1'), true], // 127.0.0.1/32
  ['127.0.0.7', seen('127.0.0.7'), false], // one before 127.0.0.8/30
  ['127.0.0.8', seen('127.0.0.8'), true], // its first address
  ['127.0.0.11', seen('127.0.0.11'), true], // its last address
  ['127.0.0.12', seen('127.0.0.12'), false], // one past it
  ['127.0.1.1', seen('127.0.1.1'), true], // a single address without /bits
  ['127.0.1.2', seen('127.0.1.2'), false],
];
const LIST = ['127.0.0.1/32', '127.0.0.8/30', '127.0.1.1', '::/127'];

const CASES: Case[] = [
  { label: 'IPv4 peers', listen: '127.0.0.1', trustedProxies: LIST, peers: IPV4_PEERS((v4) => v4) },
  {
    label: 'IPv4-mapped IPv6 peers (dual-stack listener) and an IPv6 CIDR',
    listen: '::',
    trustedProxies: LIST,
    peers: [...IPV4_PEERS((v4) => `::ffff:${v4}`), ['::1', '::1', true]], // ::1 is the last address of ::/127
  },
  {
    label: 'an IPv6 peer against IPv4 and other IPv6 ranges only',
    listen: '::',
    trustedProxies: ['127.0.0.0/8', '2001:db8::/32'],
    peers: [
      ['::1', '::1', false],
      ['127.0.0.5', '::ffff:127.0.0.5', true],
    ],
  },
];

describe('trusted proxies: fastify and forward-auth give the same answer for every peer', () => {
  let stack: Stack;
  const gateways = new Map<Case, { url: string; host: string }>();
  const extra: Gateway[] = [];

  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = CASES[0]?.trustedProxies;
        c.upstreams.unshift({ name: 'open', path: '/open', url: c.upstreams[0]?.url, auth: 'public' });
      },
    });
    const [first, ...rest] = CASES as [Case, ...Case[]];
    gateways.set(first, { url: stack.gateway.url, host: new URL(stack.publicUrl).host });
    for (const c of rest) {
      const port = await freePort();
      const publicUrl = `http://localhost:${port}`;
      const tree = baseConfig({ publicUrl, issuer: stack.idp.issuer, upstreamUrl: stack.upstream.url, listenPort: port });
      tree.server.trustedProxies = c.trustedProxies;
      tree.upstreams.unshift({ name: 'open', path: '/open', url: stack.upstream.url, auth: 'public' });
      extra.push(await listenGateway(tree, c.listen, port));
      gateways.set(c, { url: `http://[::1]:${port}`, host: `localhost:${port}` });
    }
  });
  after(async () => {
    await Promise.all(extra.map((gateway) => gateway.app.close()));
    await stack.close();
  });

  for (const c of CASES) {
    describe(`${c.label}, trustedProxies ${JSON.stringify(c.trustedProxies)}`, () => {
      for (const [local, seen, trusted] of c.peers) {
        it(`peer ${seen} is ${trusted ? 'trusted' : 'not trusted'} by both`, async () => {
          const { url, host } = gateways.get(c) as { url: string; host: string };
          const base = local.includes(':') ? url : url.replace('[::1]', '127.0.0.1');

          // fastify: a trusted peer's X-Forwarded-For names the client; an untrusted peer is the client.
          const proxied = await getFrom(local, base, '/open/x', { 'x-forwarded-for': CLIENT });
          assert.equal(proxied.status, 200, proxied.body);
          const upstreamSaw = stack.upstream.last()?.headers ?? {};
          assert.equal(upstreamSaw['x-real-ip'], trusted ? CLIENT : seen);
          assert.equal(upstreamSaw['x-forwarded-for'], trusted ? `${CLIENT}, ${seen}` : seen);

          // forward-auth: a trusted peer's X-Forwarded-Uri is judged (a public route: 202); an untrusted
          // peer's original request is unknown, and with protected routes that is 403.
          const check = await getFrom(local, base, '/oauth2/auth', { accept: 'application/json', 'x-forwarded-uri': '/open/x', 'x-forwarded-host': host });
          assert.equal(check.status, trusted ? 202 : 403, check.body);
        });
      }
    });
  }

  it('every trusted hop of X-Forwarded-For is judged by the same list: the client is the rightmost untrusted one', async () => {
    const first = gateways.get(CASES[0]) as { url: string };
    const chain = '198.51.100.1, 127.0.0.12, 127.0.0.9, 127.0.1.1';
    const proxied = await getFrom('127.0.0.11', first.url, '/open/x', { 'x-forwarded-for': chain });
    assert.equal(proxied.status, 200, proxied.body);
    const upstreamSaw = stack.upstream.last()?.headers ?? {};
    assert.equal(upstreamSaw['x-real-ip'], '127.0.0.12');
    assert.equal(upstreamSaw['x-forwarded-for'], '127.0.0.12, 127.0.0.9, 127.0.1.1, 127.0.0.11');
  });
});

describe('compileTrustedProxies: the one matcher', () => {
  const table: Array<[list: string[], address: string | undefined, trusted: boolean]> = [
    [['10.0.0.0/8'], '10.0.0.0', true],
    [['10.0.0.0/8'], '10.255.255.255', true],
    [['10.0.0.0/8'], '11.0.0.0', false],
    [['10.0.0.0/8'], '9.255.255.255', false],
    [['10.0.0.0/8'], '::ffff:10.0.0.5', true],
    [['10.0.0.0/8'], '::ffff:a00:5', true],
    [['10.0.0.0/8'], '::ffff:11.0.0.1', false],
    [['10.0.0.0/8'], '::a00:5', false], // IPv4-compatible, not mapped: another address
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['127.0.0.1'], '::1', false],
    [['::ffff:127.0.0.1'], '127.0.0.1', true],
    [['::ffff:10.0.0.0/104'], '10.0.0.5', true],
    [['::ffff:10.0.0.0/104'], '11.0.0.1', false],
    [['2001:db8::/32'], '2001:db8::', true],
    [['2001:db8::/32'], '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    [['2001:db8::/32'], '2001:DB8::1', true],
    [['2001:db8::/32'], '2001:db9::', false],
    [['2001:db8::/32'], '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
    [['2001:db8::/32'], '10.0.0.1', false],
    [['fe80::/10'], 'fe80::1%eth0', true], // a peer's zone id does not hide it from a range without one
    [['fe80::1%eth0'], 'fe80::1%eth1', false], // a listed zone id must match
    [['::1'], '0:0:0:0:0:0:0:1', true],
    [['::1'], '127.0.0.1', false],
    [['127.0.0.0/8', '::1'], '::1', true],
    [['127.0.0.0/8', '::1'], '::2', false],
    [['127.0.0.1/32'], 'not an address', false],
    [['127.0.0.1/32'], '', false],
    [['127.0.0.1/32'], undefined, false], // a destroyed socket has no address
    [[], '127.0.0.1', false],
  ];
  for (const [list, address, trusted] of table) {
    it(`${JSON.stringify(list)}: ${JSON.stringify(address)} is ${trusted ? 'trusted' : 'not trusted'} at every hop`, () => {
      const isTrusted = compileTrustedProxies(list);
      for (const hop of [undefined, 0, 1, 5]) assert.equal(isTrusted(address, hop), trusted, `hop ${hop}`);
    });
  }

  it('refuses at start-up, naming server.trustedProxies, a prefix fastify could not use (/0)', () => {
    for (const entry of ['0.0.0.0/0', '::/0', '10.0.0.1/0']) {
      assert.throws(() => compileTrustedProxies(['127.0.0.1', entry]), (err: Error) => err.message.startsWith('server.trustedProxies: ') && err.message.includes(entry));
    }
  });
});
