/**
 * The FAPI side attacked from outside: /oauth2/jwks reached by path tricks (never an upstream's answer),
 * never a private member nor the DPoP key, for every key type; a wrong key in the configuration never
 * echoed in a problem line or a log line; and a provider whose pushed-authorization answer is hostile
 * (a request_uri with javascript: or another host, an absurd expires_in, a redirect, an error with markup)
 * never turned into an open redirect, a 500 or a reflected page.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, type JWK } from 'jose';
import { ClientSigningKey } from '../../src/oidc/client-keys.js';
import { deriveDpopKey } from '../../src/oidc/dpop-key.js';
import { minimalTree, problemsOf } from '../config/fixtures.js';
import { jwksUriClient, testKey, type KeyKind } from '../helpers/client-keys.js';
import { baseConfig, freePort, startGateway, startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack, type StartedGateway } from '../helpers/gateway.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'r', 't'];

describe('/oauth2/jwks under attack', () => {
  const key = testKey('p256');
  const privateD = (JSON.parse(key.jwkText) as { d: string }).d;
  let stack: Stack;
  before(async () => {
    // The JWK form carries "d" itself.
    stack = await startStack(jwksUriClient(key.jwkText, (c) => (c.oidc.dpop = true)));
  });
  after(() => stack.close());

  it('publishes only the public half of the client key and never the DPoP key', async () => {
    await stack.signIn('alice');
    const dpopJkt = stack.idp.dpop.issuedAccessTokens.at(-1)?.jkt;
    assert.equal(typeof dpopJkt, 'string', 'the session token is DPoP-bound');
    const response = await fetch(`${stack.publicUrl}/oauth2/jwks`);
    const text = await response.text();
    const { keys } = JSON.parse(text) as { keys: JWK[] };
    assert.equal(keys.length, 1);
    for (const member of PRIVATE_MEMBERS) assert.ok(!(member in (keys[0] ?? {})), `no "${member}"`);
    assert.ok(!text.includes(privateD));
    assert.equal(await calculateJwkThumbprint(keys[0] ?? {}), await calculateJwkThumbprint(key.publicJwk as JWK));
    for (const jwk of keys) assert.notEqual(await calculateJwkThumbprint(jwk), dpopJkt, 'the DPoP key is not a client key');
  });

  it('DPoP proofs to the upstream have unique jti under concurrency and prove only the path it received', async () => {
    const alice = await stack.signIn('alice');
    const seenBefore = stack.upstream.requests.length;
    const paths = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? `/a/../b/${i}?q=${i}` : i % 3 === 1 ? `/%62/${i}` : `/b/${i}`));
    const answers = await Promise.all(paths.map((path) => alice.fetch(`${stack.publicUrl}${path}`, { headers: { dpop: 'client-proof', accept: 'application/json' } })));
    for (const answer of answers) assert.equal(answer.status, 200);
    const received = stack.upstream.requests.slice(seenBefore);
    assert.equal(received.length, paths.length);
    const jtis = new Set<unknown>();
    for (const request of received) {
      const proof = request.headers.dpop;
      assert.equal(typeof proof, 'string');
      assert.notEqual(proof, 'client-proof');
      const claims = decodeJwt(proof as string);
      jtis.add(claims.jti);
      assert.equal(claims.htu, `${stack.upstream.url}${request.url.split('?', 1)[0]}`, 'the proof names what the upstream received, no query');
      assert.match(String(claims.htu), /^http:\/\/127\.0\.0\.1:\d+\/b\/\d+$/);
      assert.equal(claims.htm, 'GET');
    }
    assert.equal(jtis.size, paths.length, 'no jti repeats');
  });

  it('no path spelling of /oauth2/jwks reaches the upstream at the root', async () => {
    const spellings = ['/oauth2/jwks', '/oauth2/jwks/', '/oauth2//jwks', '//oauth2/jwks', '/oauth2/./jwks', '/x/../oauth2/jwks', '/oauth2/%6Awks', '/%6Fauth2/jwks', '/OAUTH2/jwks', '/oauth2/JWKS', '/oauth2/jwks;x', '/oauth2/jwks?x=1', '/oauth2/jwks.json'];
    for (const path of spellings) {
      const seen = stack.upstream.requests.length;
      const response = await fetch(`${stack.publicUrl}${path}`, { redirect: 'manual' });
      const text = await response.text();
      assert.equal(stack.upstream.requests.length, seen, `${path}: the upstream saw nothing`);
      assert.ok(response.status < 500, `${path}: ${response.status}`);
      if (response.status === 200) assert.match(response.headers.get('content-type') ?? '', /jwk-set\+json/, path);
      assert.ok(!text.includes(privateD), path);
    }
  });

  it('neither private key, the client key nor the DPoP key, is in a log line, metric, error page or the JWK Set', async () => {
    // The DPoP key derived from session.keys, as the gateway derives it: the one the provider bound tokens to.
    const dpopKey = deriveDpopKey(TEST_SESSION_KEY, stack.idp.issuer, TEST_CLIENT_ID);
    assert.equal(dpopKey.jkt, stack.idp.dpop.issuedAccessTokens.at(-1)?.jkt, 'the very key tokens are bound to');
    const dpopD = (dpopKey.privateKey.export({ format: 'jwk' }) as { d: string }).d;
    const metrics = await stack.gateway.gateway.services.metrics.registry.metrics();
    const page = await (await fetch(`${stack.publicUrl}/oauth2/callback?code=x&state=y`, { headers: { accept: 'text/html' } })).text();
    const jwks = await (await fetch(`${stack.publicUrl}/oauth2/jwks`)).text();
    const logs = stack.gateway.logs.join('\n');
    for (const [where, text] of [['metrics', metrics], ['error page', page], ['log', logs], ['JWK Set', jwks]] as const) {
      assert.ok(!text.includes(privateD), `the client key is not in the ${where}`);
      assert.ok(!text.includes(dpopD), `the DPoP key is not in the ${where}`);
    }
  });
});

describe('JWK Set members for every key type', () => {
  it('an RSA-PSS key, which has no JWK form here, is refused by the configuration check rather than at start', () => {
    const tree = minimalTree();
    tree.oidc = { ...tree.oidc, clientAuthMethod: 'private_key_jwt', clientPrivateKey: testKey('rsa-pss').pkcs8 };
    delete tree.oidc.clientSecret;
    assert.match(problemsOf(tree).join('\n'), /clientPrivateKey: an RSA-PSS key/);
  });

  for (const kind of ['rsa', 'p256', 'p384', 'ed25519'] as KeyKind[]) {
    it(`the ${kind} client key publishes public members only`, async () => {
      const key = testKey(kind);
      const jwk = await new ClientSigningKey(key.pkcs8, undefined).publicJwk(undefined);
      for (const member of PRIVATE_MEMBERS) assert.ok(!(member in jwk), `${kind}: no "${member}"`);
      for (const member of Object.keys(jwk)) assert.ok(['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'].includes(member), `${kind}: "${member}" is a public member`);
      assert.equal(await calculateJwkThumbprint(jwk), await calculateJwkThumbprint(key.publicKey.export({ format: 'jwk' }) as JWK), 'the public half of this very key');
    });
  }
});

describe('a wrong key in the configuration is never echoed', () => {
  it('problem lines name the key and the fault, never its material', () => {
    const rsa = testKey('rsa-1024');
    const x25519 = testKey('x25519');
    const good = testKey('p256');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ clientAuthMethod: 'private_key_jwt', clientPrivateKey: rsa.pkcs8 }, rsa.pkcs8],
      [{ clientAuthMethod: 'private_key_jwt', clientPrivateKey: x25519.pkcs8 }, x25519.pkcs8],
      [{ clientAuthMethod: 'private_key_jwt', clientPrivateKey: good.pkcs8.replace('PRIVATE KEY-----\n', 'PRIVATE KEY-----\nAAAA') }, good.pkcs8],
      [{ clientAuthMethod: 'private_key_jwt', clientPrivateKey: good.jwkText.replace('"kty":"EC"', '"kty":"XX"') }, good.jwkText],
      [{ dpop: true, dpopKey: rsa.pkcs8 }, rsa.pkcs8],
      [{ clientPrivatekey: good.pkcs8 }, good.pkcs8],
    ];
    for (const [oidc, material] of cases) {
      const tree = minimalTree();
      tree.oidc = { ...tree.oidc, ...oidc };
      if (oidc.clientAuthMethod === 'private_key_jwt') delete tree.oidc.clientSecret;
      const problems = problemsOf(tree).join('\n');
      // Any 16 characters of the base64 body would be a leak.
      const body = material.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
      for (let i = 0; i + 16 <= body.length; i += 16) assert.ok(!problems.includes(body.slice(i, i + 16)), `${Object.keys(oidc).join(',')}: ${problems}`);
      assert.doesNotMatch(problems, /-----BEGIN|"d":/);
    }
  });
});

/** A provider whose discovery names a PAR endpoint that answers what the test says (everything else 404). */
async function startHostileProvider(): Promise<{
  issuer: string;
  setPar(status: number, body: string, headers?: Record<string, string>): void;
  /** Whether the discovery document names the PAR endpoint (from the next discovery on). */
  advertisePar(on: boolean): void;
  close(): Promise<void>;
}> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let par = { status: 201, body: '{}', headers: {} as Record<string, string> };
  let advertised = true;
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          ...(advertised ? { pushed_authorization_request_endpoint: `${issuer}/par` } : {}),
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        }),
      );
    } else if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    } else if (req.url === '/par' && req.method === 'POST') {
      req.resume();
      req.on('end', () => {
        res.writeHead(par.status, { 'content-type': 'application/json', ...par.headers });
        res.end(par.body);
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    setPar: (status, body, headers = {}) => (par = { status, body, headers }),
    advertisePar: (on) => (advertised = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a hostile answer to the pushed authorization request', () => {
  let provider: Awaited<ReturnType<typeof startHostileProvider>>;
  let upstream: StartedUpstream;
  let gateway: StartedGateway;
  before(async () => {
    provider = await startHostileProvider();
    upstream = await startUpstream();
    const port = await freePort();
    const tree = baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: provider.issuer, upstreamUrl: upstream.url, listenPort: port });
    tree.oidc.pushedAuthorizationRequests = 'required';
    gateway = await startGateway(tree, { port });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([provider.close(), upstream.close()]);
  });

  const start = () => fetch(`${gateway.url}/oauth2/start?rd=%2Fhere`, { headers: { accept: 'text/html' }, redirect: 'manual' });

  it('a request_uri of any shape only ever sends the browser to the provider authorization endpoint', async () => {
    for (const requestUri of ['javascript:alert(1)', 'https://evil.example/x', '//evil.example/x', '"><script>alert(1)</script>', 'urn:ietf:params:oauth:request_uri:\r\nSet-Cookie: x=1']) {
      provider.setPar(201, JSON.stringify({ request_uri: requestUri, expires_in: 60 }));
      const response = await start();
      const body = await response.text();
      if (response.status === 302) {
        const location = new URL(response.headers.get('location') ?? '');
        assert.equal(`${location.origin}${location.pathname}`, `${provider.issuer}/auth`, requestUri);
        assert.equal(location.searchParams.get('request_uri'), requestUri);
        assert.equal(response.headers.get('set-cookie')?.includes('x=1'), false);
      } else {
        assert.equal(response.status, 502, `${requestUri}: ${response.status}`);
        assert.ok(!body.includes('<script>alert'), 'nothing of the answer is reflected raw');
      }
    }
  });

  it('absurd expires_in, missing fields, a redirect or an error with markup are a 502 or 503 page, never a 500', async () => {
    const answers: Array<[number, string, Record<string, string>?]> = [
      [201, JSON.stringify({ request_uri: 'urn:x', expires_in: 1e300 })],
      [201, JSON.stringify({ request_uri: 'urn:x', expires_in: -5 })],
      [201, JSON.stringify({ request_uri: 'urn:x', expires_in: 'forever' })],
      [201, JSON.stringify({ expires_in: 60 })],
      [201, JSON.stringify({ request_uri: 42, expires_in: 60 })],
      [201, JSON.stringify({ request_uri: '', expires_in: 60 })],
      [201, 'not json'],
      [201, '[]'],
      [302, '', { location: 'https://evil.example/' }],
      [400, JSON.stringify({ error: 'invalid_request', error_description: '<script>alert(1)</script>' })],
      [400, JSON.stringify({ error: '<img src=x onerror=alert(1)>' })],
      [500, 'oops'],
    ];
    for (const [status, body, headers] of answers) {
      provider.setPar(status, body, headers);
      const response = await start();
      const page = await response.text();
      const where = `${status} ${body}`;
      assert.ok(response.status === 302 || response.status === 502 || response.status === 503, `${where}: ${response.status}`);
      if (response.status === 302) {
        const location = new URL(response.headers.get('location') ?? '');
        assert.equal(`${location.origin}${location.pathname}`, `${provider.issuer}/auth`, where);
      }
      assert.ok(!page.includes('<script>alert') && !page.includes('<img src=x'), `${where}: nothing reflected raw`);
      assert.ok(!(response.headers.get('location') ?? '').includes('evil.example'), where);
    }
    const crashed = gateway.logEntries().filter((e) => (e.level as number) >= 50 && String(e.msg).includes('Unhandled'));
    assert.deepEqual(crashed, []);
  });
});

describe('pushedAuthorizationRequests required, and the provider stops advertising PAR', () => {
  let provider: Awaited<ReturnType<typeof startHostileProvider>>;
  let upstream: StartedUpstream;
  let gateway: StartedGateway;
  before(async () => {
    provider = await startHostileProvider();
    upstream = await startUpstream();
    const port = await freePort();
    const tree = baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: provider.issuer, upstreamUrl: upstream.url, listenPort: port });
    tree.oidc.pushedAuthorizationRequests = 'required';
    tree.oidc.metadataRefresh = '200ms';
    gateway = await startGateway(tree, { port });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([provider.close(), upstream.close()]);
  });

  it('refuses the login with 503 after the metadata refresh, never falling back to a front-channel request', async () => {
    provider.setPar(201, JSON.stringify({ request_uri: 'urn:ietf:params:oauth:request_uri:abc', expires_in: 60 }));
    const pushed = await fetch(`${gateway.url}/oauth2/start?rd=%2Fhere`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(pushed.status, 302);
    assert.deepEqual([...new URL(pushed.headers.get('location') ?? '').searchParams.keys()].sort(), ['client_id', 'request_uri']);

    provider.advertisePar(false);
    // The event: the gateway logs that the mode no longer fits the provider, at its next metadata refresh.
    const fitLost = () => gateway.logEntries().some((e) => String(e.msg).startsWith('pushedAuthorizationRequests is "required"'));
    for (let i = 0; i < 500 && !fitLost(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(fitLost(), 'the refresh saw the provider stop advertising PAR');
    const refused = await fetch(`${gateway.url}/oauth2/start?rd=%2Fhere`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('location'), null, 'no authorization request in the browser query');
    assert.doesNotMatch(await refused.text(), /code_challenge|state=/);
  });
});
