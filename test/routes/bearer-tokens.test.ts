/**
 * API clients with `Authorization: Bearer <JWT>` (api.acceptBearerTokens): real JWT access tokens from the
 * provider (RFC 9068, through resource indicators) pass and go through the same policy as sessions; forged,
 * confused or stale tokens get 401 invalid_token and never reach the upstream; unknown kids cannot make the
 * gateway hammer the provider's JWKS; forward-auth judges bearers the same way.
 *
 * Tokens come from the real provider (test/helpers/idp.ts issueJwtAccessToken: an authorization code or
 * client_credentials grant with `resource=`), or are forged with the provider's key exactly as it signs them.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import type { SignJwtOptions } from '../helpers/idp.js';
import { startStack, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_SESSION_KEY, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { waitUntil } from '../login/forged-login.js';

const API = 'https://api.example.test';
const JSON_ACCEPT = 'application/json';
const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="authgate", error="invalid_token"';

/** The gateway of most tests: bearers on, audience the API, an admins-only /admin next to the default /. */
function withBearers(audiences: string[] = [API]) {
  return (c: ConfigTree) => {
    c.api = { acceptBearerTokens: true, audiences };
    c.server.trustedProxies = ['127.0.0.1/32'];
    const url = c.upstreams[0]?.url;
    // authRequestAccessToken: forward-auth answers for /admin carry the token (to the trusted proxy only).
    c.upstreams.push({ name: 'admin', path: '/admin', url, allow: { groups: ['admins'] }, authRequestAccessToken: true });
  };
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * Signs an access token the way the provider issues them (see issueJwtAccessToken: header typ at+jwt and the
 * provider's kid, the same claims); `claims` overrides them, an undefined value removes a claim.
 */
function forge(stack: Stack, claims: Record<string, unknown> = {}, options: SignJwtOptions = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: stack.idp.issuer,
    sub: 'alice',
    aud: API,
    iat: now(),
    exp: now() + 300,
    jti: randomBytes(12).toString('base64url'),
    client_id: stack.idp.apiClient.clientId,
    scope: 'api',
    email: 'alice@example.com',
    preferred_username: 'alice',
    groups: ['admins', 'staff'],
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  return stack.idp.signJwt(payload, { typ: 'at+jwt', ...options });
}

function call(stack: Stack, path: string, authorization: string | undefined, accept = JSON_ACCEPT): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (authorization !== undefined) headers.authorization = authorization;
  return fetch(`${stack.publicUrl}${path}`, { headers, redirect: 'manual' });
}

/** Asserts the gateway answered 401 invalid_token and proxied nothing. */
async function assertInvalidToken(stack: Stack, token: string, path = '/api/things', accept = JSON_ACCEPT, why?: string): Promise<void> {
  const seen = stack.upstream.requests.length;
  const response = await call(stack, path, `Bearer ${token}`, accept);
  assert.equal(response.status, 401, why);
  assert.deepEqual(await response.json(), { error: 'invalid_token' });
  assert.equal(response.headers.get('www-authenticate'), INVALID_TOKEN_CHALLENGE);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
}

/** Asserts a request with this token was proxied, and returns what the upstream received. */
async function assertProxied(stack: Stack, token: string, path = '/api/things') {
  const seen = stack.upstream.requests.length;
  const response = await call(stack, path, `Bearer ${token}`);
  assert.equal(response.status, 200, await response.clone().text());
  await response.body?.cancel();
  assert.equal(stack.upstream.requests.length, seen + 1);
  const received = stack.upstream.last();
  assert.ok(received);
  return received;
}

describe('bearer tokens (api.acceptBearerTokens: true, audiences [api])', () => {
  let stack: Stack;
  let alice: string;
  let bob: string;
  let service: string;
  before(async () => {
    stack = await startStack({ configure: withBearers() });
    [alice, bob, service] = await Promise.all([
      stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API }),
      stack.idp.issueJwtAccessToken({ sub: 'bob', resource: API }),
      stack.idp.issueJwtAccessToken({ resource: API }),
    ]);
  });
  after(() => stack.close());

  describe('valid tokens', () => {
    it('proxies a real access token with its identity and the same bearer', async () => {
      const received = await assertProxied(stack, alice, '/api/things?x=1');
      assert.equal(received.url, '/api/things?x=1');
      assert.equal(received.headers['x-forwarded-user'], 'alice');
      assert.equal(received.headers['x-forwarded-email'], 'alice@example.com');
      assert.equal(received.headers['x-forwarded-preferred-username'], 'alice');
      assert.equal(received.headers['x-forwarded-groups'], 'admins,staff');
      assert.equal(received.headers.authorization, `Bearer ${alice}`);
    });

    it('applies the upstream policy: alice (admins) may use /admin, bob gets 403 and is not proxied', async () => {
      const received = await assertProxied(stack, alice, '/admin/panel');
      assert.equal(received.headers['x-forwarded-user'], 'alice');
      const seen = stack.upstream.requests.length;
      const denied = await call(stack, '/admin/panel', `Bearer ${bob}`);
      assert.equal(denied.status, 403);
      await denied.body?.cancel();
      assert.equal(stack.upstream.requests.length, seen);
      assert.equal((await assertProxied(stack, bob, '/')).headers['x-forwarded-user'], 'bob');
    });

    it('accepts a client_credentials token (sub = the client) where any principal may go, not on /admin', async () => {
      const received = await assertProxied(stack, service);
      assert.equal(received.headers['x-forwarded-user'], stack.idp.apiClient.clientId);
      assert.equal(received.headers['x-forwarded-groups'], undefined);
      const denied = await call(stack, '/admin', `Bearer ${service}`);
      assert.equal(denied.status, 403);
      await denied.body?.cancel();
    });

    it('accepts the scheme in any case ("bearer")', async () => {
      const response = await call(stack, '/api/things', `bearer ${alice}`);
      assert.equal(response.status, 200);
      await response.body?.cancel();
    });

    it('accepts a token forged exactly as the provider signs them (the forging helper is faithful)', async () => {
      const received = await assertProxied(stack, await forge(stack, { sub: 'carol', groups: ['admins'] }), '/admin');
      assert.equal(received.headers['x-forwarded-user'], 'carol');
    });

    it('accepts a token that expired 10 s ago: exp/nbf have a 30 s leeway for clock skew', async () => {
      await assertProxied(stack, await forge(stack, { exp: now() - 10, iat: now() - 310 }));
      await assertProxied(stack, await forge(stack, { nbf: now() + 10 }));
    });

    it('accepts a token without kid: the JWKS has exactly one key (documented in access-token.ts)', async () => {
      await assertProxied(stack, await forge(stack, {}, { kid: null }));
    });

    it('accepts a typ at+jwt token even with a nonce: the RFC 9068 header outranks the ID-token heuristics', async () => {
      await assertProxied(stack, await forge(stack, { nonce: 'n-0S6_WzA2Mj' }));
    });
  });

  describe('attacks: 401 invalid_token, nothing proxied', () => {
    const cases: Array<[string, (s: Stack) => Promise<string>]> = [
      ['bad signature (another RSA key, the provider\'s kid)', (s) => forge(s, {}, { key: 'other' })],
      ['PS256 with the provider\'s own key and kid (the key and the provider say RS256)', (s) => forge(s, {}, { alg: 'PS256' })],
      ['alg none', (s) => forge(s, {}, { alg: 'none' })],
      ['alg none without kid', (s) => forge(s, {}, { alg: 'none', kid: null })],
      ['HS256 signed with the client secret', (s) => forge(s, {}, { alg: 'HS256', secret: TEST_CLIENT_SECRET })],
      ['HS256 signed with the client secret as an ID token for the client', (s) =>
        forge(s, { aud: TEST_CLIENT_ID }, { alg: 'HS256', secret: TEST_CLIENT_SECRET })],
      ['wrong aud', (s) => forge(s, { aud: 'https://other-api.example.test' })],
      ['aud the client id (not in api.audiences here)', (s) => forge(s, { aud: TEST_CLIENT_ID })],
      ['no aud', (s) => forge(s, { aud: undefined })],
      ['wrong iss', (s) => forge(s, { iss: 'https://evil.example.test' })],
      ['iss with a trailing slash', (s) => forge(s, { iss: `${s.idp.issuer}/` })],
      ['no iss', (s) => forge(s, { iss: undefined })],
      ['expired 5 minutes ago', (s) => forge(s, { exp: now() - 300, iat: now() - 600 })],
      ['expired 31+ s ago (just past the leeway)', (s) => forge(s, { exp: now() - 35, iat: now() - 335 })],
      ['nbf 5 minutes ahead', (s) => forge(s, { nbf: now() + 300 })],
      ['no exp', (s) => forge(s, { exp: undefined })],
      ['no sub', (s) => forge(s, { sub: undefined })],
      ['a kid that is not in the JWKS (signed with the provider key)', (s) => forge(s, {}, { kid: 'not-in-the-jwks' })],
      ['a kid that is not in the JWKS (signed with another key)', (s) => forge(s, {}, { kid: 'attacker-key', key: 'other' })],
      ['no kid and another key', (s) => forge(s, {}, { kid: null, key: 'other' })],
      ['a nonce claim without typ at+jwt (an ID token\'s mark)', (s) => s.idp.signJwt({ ...claimsOf(s), nonce: 'abc' })],
      ['an at_hash claim without typ at+jwt', (s) => s.idp.signJwt({ ...claimsOf(s), at_hash: 'x' })],
      ['Keycloak-style typ: ID claim', (s) => s.idp.signJwt({ ...claimsOf(s), typ: 'ID' })],
      ['Cognito-style token_use: id claim', (s) => s.idp.signJwt({ ...claimsOf(s), token_use: 'id' })],
      ['a real token with its signature cut off', async () => `${alice.split('.').slice(0, 2).join('.')}.`],
      ['a real token with its payload swapped for another user\'s', async () => {
        const [header, , signature] = alice.split('.');
        const [, payload] = bob.split('.');
        return `${header}.${payload}.${signature}`;
      }],
      ['a real token with a changed claim (groups)', async () => {
        const [header, payload = '', signature] = bob.split('.');
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        return `${header}.${Buffer.from(JSON.stringify({ ...claims, groups: ['admins'] })).toString('base64url')}.${signature}`;
      }],
    ];
    for (const [name, make] of cases) {
      it(name, async () => assertInvalidToken(stack, await make(stack)));
    }

    it('HS256 signed with the provider\'s PUBLIC key (alg confusion: PEM, JWK and JWKS JSON as the secret)', async () => {
      const jwksText = await (await fetch(stack.idp.jwksUri)).text();
      const [jwk] = (JSON.parse(jwksText) as { keys: Array<Record<string, unknown>> }).keys;
      assert.ok(jwk);
      const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
      const secrets = [
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        JSON.stringify(jwk),
        jwksText,
      ];
      for (const secret of secrets) {
        for (const alg of ['HS256', 'HS384', 'HS512']) await assertInvalidToken(stack, await forge(stack, {}, { alg, secret }));
      }
    });

    it('malformed tokens that still look like a bearer token', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' })).toString('base64url');
      for (const token of [
        'not-a-jwt',
        'a.b.c',
        '...',
        `${header}.e30`,
        `${header}.bm90IGpzb24.c2ln`,
        `${header}.e30.c2ln`,
        'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d', // five parts: a JWE
        `${'A'.repeat(8000)}.${'B'.repeat(8000)}.C`,
        'abc==',
      ]) {
        await assertInvalidToken(stack, token);
      }
    });

    it('a header that is not a bearer token at all (empty, blanks, junk) counts as no credentials: 401 unauthenticated', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Bearer    ', 'Bearer a b', 'Bearer "quoted"', `Bearer ${alice} x`, 'Basic YTpi', `Token ${alice}`]) {
        const seen = stack.upstream.requests.length;
        const response = await call(stack, '/api/things', authorization);
        assert.equal(response.status, 401, authorization);
        assert.deepEqual(await response.json(), { error: 'unauthenticated' }, authorization);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="authgate"');
        assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
      }
    });

    it('a browser navigation with an invalid bearer gets 401 invalid_token, not a login redirect', async () => {
      await assertInvalidToken(stack, await forge(stack, {}, { key: 'other' }), '/some/page', NAVIGATION_ACCEPT);
      await assertInvalidToken(stack, 'junk.junk.junk', '/admin', NAVIGATION_ACCEPT);
      // Without any Authorization header the same navigation is sent to sign in.
      const signedOut = await call(stack, '/some/page', undefined, NAVIGATION_ACCEPT);
      assert.equal(signedOut.status, 302);
      assert.ok(signedOut.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));
    });
  });

  describe('sessions and bearers together', () => {
    it('a session wins: a signed-in browser with a bogus bearer is proxied with its own token', async () => {
      const browser = await stack.signIn('bob');
      const response = await browser.fetch(`${stack.publicUrl}/api/things`, {
        headers: { accept: JSON_ACCEPT, authorization: 'Bearer bogus.bogus.bogus' },
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
      const received = stack.upstream.last();
      assert.equal(received?.headers['x-forwarded-user'], 'bob');
      const forwarded = String(received?.headers.authorization);
      assert.match(forwarded, /^Bearer \S{20,}$/);
      assert.notEqual(forwarded, 'Bearer bogus.bogus.bogus', 'the client\'s header is replaced by the session\'s token');
    });

    it('a session wins over a valid bearer of someone else', async () => {
      const browser = await stack.signIn('bob');
      const response = await browser.fetch(`${stack.publicUrl}/admin`, { headers: { accept: JSON_ACCEPT, authorization: `Bearer ${alice}` } });
      assert.equal(response.status, 403, 'bob\'s session is judged, not alice\'s token');
      await response.body?.cancel();
    });
  });

  describe('the verified-token cache', () => {
    it('20 requests with the same token: no JWKS fetch and no signature check after the first', async () => {
      const token = await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API });
      await assertProxied(stack, token);
      const fetches = stack.idp.jwksRequests();
      // jose verifies with WebCrypto: count the signature checks the gateway (in this process) makes.
      const verify = mock.method(globalThis.crypto.subtle, 'verify');
      try {
        const responses = await Promise.all(Array.from({ length: 20 }, () => call(stack, '/api/things', `Bearer ${token}`)));
        for (const response of responses) {
          assert.equal(response.status, 200);
          await response.body?.cancel();
        }
        assert.equal(verify.mock.callCount(), 0, 'cached: no signature check');
        await assertProxied(stack, await forge(stack));
        assert.equal(verify.mock.callCount(), 1, 'control: a new token is checked once');
      } finally {
        verify.mock.restore();
      }
      assert.equal(stack.idp.jwksRequests(), fetches, 'no JWKS fetch');
    });
  });

  describe('forward-auth (/oauth2/auth from a trusted proxy)', () => {
    const check = (uri: string, authorization: string | undefined) =>
      fetch(`${stack.publicUrl}/oauth2/auth`, {
        headers: { 'x-forwarded-uri': uri, 'x-forwarded-host': 'app.internal', accept: JSON_ACCEPT, ...(authorization ? { authorization } : {}) },
      });

    it('a valid bearer answers 202 with X-Auth-Request-*', async () => {
      const response = await check('/admin/panel', `Bearer ${alice}`);
      assert.equal(response.status, 202);
      assert.equal(response.headers.get('x-auth-request-user'), 'alice');
      assert.equal(response.headers.get('x-auth-request-email'), 'alice@example.com');
      assert.equal(response.headers.get('x-auth-request-groups'), 'admins,staff');
      assert.equal(response.headers.get('x-auth-request-access-token'), alice);
    });

    it('the policy of the original URI applies: bob is denied /admin (403), allowed /', async () => {
      assert.equal((await check('/admin/panel', `Bearer ${bob}`)).status, 403);
      assert.equal((await check('/', `Bearer ${bob}`)).status, 202);
    });

    it('an invalid bearer answers 401 invalid_token; no bearer 401 unauthenticated', async () => {
      for (const token of [await forge(stack, {}, { key: 'other' }), await forge(stack, { aud: 'https://other.example.test' }), 'x.y.z']) {
        const response = await check('/', `Bearer ${token}`);
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), INVALID_TOKEN_CHALLENGE);
        assert.deepEqual(await response.json(), { error: 'invalid_token' });
      }
      const none = await check('/', undefined);
      assert.equal(none.status, 401);
      assert.deepEqual(await none.json(), { error: 'unauthenticated' });
    });
  });
});

/** Claims of a valid access token for the main stack, for hand-built variants without typ at+jwt. */
function claimsOf(stack: Stack): Record<string, unknown> {
  return { iss: stack.idp.issuer, sub: 'alice', aud: API, iat: now(), exp: now() + 300, jti: randomBytes(12).toString('base64url') };
}

describe('bearer tokens: unknown-kid flood', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: withBearers() });
  });
  after(() => stack.close());

  it('50 made-up kids cost at most one JWKS fetch; /ping answers throughout; a valid token still works', async () => {
    const fetches = stack.idp.jwksRequests();
    const seen = stack.upstream.requests.length;
    // Five waves of ten at once: concurrent lookups share one fetch, later ones fall within the cooldown.
    for (let wave = 0; wave < 5; wave += 1) {
      const tokens = await Promise.all(Array.from({ length: 10 }, () => forge(stack, {}, { kid: randomBytes(8).toString('hex'), key: 'other' })));
      const [pings, answers] = await Promise.all([
        Promise.all(Array.from({ length: 3 }, () => fetch(`${stack.publicUrl}/ping`))),
        Promise.all(tokens.map((token) => call(stack, '/api/things', `Bearer ${token}`))),
      ]);
      for (const ping of pings) assert.equal(await ping.text(), 'OK');
      for (const answer of answers) {
        assert.equal(answer.status, 401);
        assert.deepEqual(await answer.json(), { error: 'invalid_token' });
      }
    }
    assert.equal(stack.upstream.requests.length, seen, 'nothing was proxied');
    const grown = stack.idp.jwksRequests() - fetches;
    assert.ok(grown <= 1, `the flood caused ${grown} JWKS fetches`);
    assert.equal(grown, 1, 'the first unknown kid of a fresh gateway does refetch (key rotation)');

    // The provider's key came with that fetch: a valid token needs none.
    await assertProxied(stack, await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API }));
    assert.equal(stack.idp.jwksRequests() - fetches, 1);
    assert.equal((await fetch(`${stack.publicUrl}/ping`)).status, 200);
  });
});

describe('bearer tokens: JWKS key rotation and withdrawal (an unknown kid refetches at most once a minute)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: withBearers() });
  });
  after(() => {
    stack.idp.publishJwks(null);
    return stack.close();
  });

  /** Runs `work` with the gateway's clock (Date.now) `seconds` ahead, so the one-minute refetch limit has passed. */
  async function later<T>(seconds: number, work: () => Promise<T>): Promise<T> {
    const realNow = Date.now.bind(Date);
    const clock = mock.method(Date, 'now', () => realNow() + seconds * 1000);
    try {
      return await work();
    } finally {
      clock.mock.restore();
    }
  }

  it('the keys came with the provider metadata (the set ID tokens use): a first bearer token fetches no JWKS', async () => {
    const fetches = stack.idp.jwksRequests();
    await assertProxied(stack, await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API }));
    assert.equal(stack.idp.jwksRequests(), fetches, 'no JWKS fetch of its own');
  });

  it('a new key is picked up at the next unknown-kid refetch once a minute has passed; a withdrawn key stops verifying', async () => {
    const provider = stack.idp.publicJwk('provider');
    const next = stack.idp.publicJwk('other');
    const signedWithNext = () => forge(stack, {}, { key: 'other', kid: next.kid });
    const fetches = stack.idp.jwksRequests();
    // A made-up kid refetches at once (a real rotation costs one request) and starts the minute.
    await assertInvalidToken(stack, await forge(stack, {}, { kid: 'made-up-kid' }));
    assert.equal(stack.idp.jwksRequests() - fetches, 1, 'the first unknown kid refetched');

    // Rotation, step 1: the provider publishes its next key next to the current one.
    stack.idp.publishJwks({ keys: [provider, next] });
    await assertInvalidToken(stack, await signedWithNext()); // within the minute: not fetched yet (documented lag)
    assert.equal(stack.idp.jwksRequests() - fetches, 1);
    await later(61, async () => assertProxied(stack, await signedWithNext()));
    assert.equal(stack.idp.jwksRequests() - fetches, 2, 'the unknown kid refetched once the minute had passed');
    await assertInvalidToken(stack, await forge(stack, {}, { kid: null }), '/api/things', JSON_ACCEPT, 'no kid and two keys fit: refused');

    // Step 2: the old key is withdrawn (rotated out, or revoked after a compromise).
    const cachedUnderOld = await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API });
    await assertProxied(stack, cachedUnderOld);
    stack.idp.publishJwks({ keys: [next] });
    await later(122, async () => {
      await assertInvalidToken(stack, await forge(stack, {}, { kid: 'unknown-kid' }));
      assert.equal(stack.idp.jwksRequests() - fetches, 3, 'the gateway has seen the JWKS without the old key');
      await assertProxied(stack, await signedWithNext());
      await assertInvalidToken(stack, await forge(stack), '/api/things', JSON_ACCEPT, 'a new token under the withdrawn key is still accepted');
      await assertInvalidToken(stack, cachedUnderOld, '/api/things', JSON_ACCEPT, 'a token verified before the withdrawal is still accepted');
    });
  });
});

// Two ways the key set is fetched again on its own: with the metadata (oidc.metadataRefresh), and the JWKS
// alone between metadata refreshes (every 10 minutes; shortened here), which keeps a withdrawn key from
// verifying for a day under the default metadataRefresh of 24h.
for (const [label, options] of [
  ['the periodic metadata refresh (oidc.metadataRefresh 1s)', { configure: (c: ConfigTree) => ((c.oidc.metadataRefresh = '1s'), withBearers()(c)) }],
  ['the JWKS refresh between metadata refreshes (metadataRefresh 24h, keys every second)', { configure: withBearers(), keysRefreshMs: 1000 }],
] as const) describe(`bearer tokens: ${label} reaches bearer tokens`, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(options);
  });
  after(() => {
    stack.idp.publishJwks(null);
    return stack.close();
  });

  const waitForJwksFetches = async (count: number) => {
    const target = stack.idp.jwksRequests() + count;
    await waitUntil(() => stack.idp.jwksRequests() >= target, `${count} periodic JWKS fetch(es)`);
  };

  it('a withdrawn key stops verifying and a new one verifies, with no unknown-kid refetch left to help', async () => {
    const next = stack.idp.publicJwk('other');
    const cachedUnderOld = await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API });
    await assertProxied(stack, cachedUnderOld);
    const unusedUnderOld = await forge(stack);
    // Spend the unknown-kid refetch: for the next minute only the periodic refresh can change the keys.
    await assertInvalidToken(stack, await forge(stack, {}, { kid: 'made-up-kid' }));

    stack.idp.publishJwks({ keys: [next] });
    // Two fetches: the first may have started before the JWKS changed.
    await waitForJwksFetches(2);
    await assertInvalidToken(stack, cachedUnderOld, '/api/things', JSON_ACCEPT, 'a token verified before the withdrawal is still accepted');
    await assertInvalidToken(stack, unusedUnderOld, '/api/things', JSON_ACCEPT, 'a token under the withdrawn key is still accepted');
    await assertProxied(stack, await forge(stack, {}, { key: 'other', kid: next.kid }));
  });
});

describe('bearer tokens: the provider JWKS unreachable', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: withBearers() });
  });
  after(() => {
    stack.idp.failJwks(false);
    return stack.close();
  });

  it('an unknown kid that cannot be fetched is 503; a valid token verifies with the keys loaded with the metadata', async () => {
    stack.idp.failJwks(true);
    const fetches = stack.idp.jwksRequests();
    const seen = stack.upstream.requests.length;
    const response = await call(stack, '/api/things', `Bearer ${await forge(stack, {}, { kid: 'rotated-kid' })}`);
    assert.equal(response.status, 503);
    await response.body?.cancel();
    assert.equal(stack.idp.jwksRequests() - fetches, 1, 'the unknown kid tried the JWKS');
    assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
    await assertProxied(stack, await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API }));
  });
});

describe('bearer tokens: ID tokens are refused even when api.audiences names the client id', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: withBearers([API, TEST_CLIENT_ID]) });
  });
  after(() => stack.close());

  it('the ID token of a real login (from the session cookie) gets 401', async () => {
    const browser = await stack.signIn('alice');
    const sealed = browser.jar.get('authgate')?.value ?? '';
    const session = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(sealed);
    const idToken = (session?.data.tokens as { idToken?: string } | undefined)?.idToken;
    assert.ok(idToken, 'the session holds the ID token');
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims.aud, TEST_CLIENT_ID, 'signature, iss, exp and aud would all pass');
    await assertInvalidToken(stack, idToken);
  });

  it('controls: an access token for the API, and one with aud = the client id, are accepted', async () => {
    await assertProxied(stack, await stack.idp.issueJwtAccessToken({ sub: 'bob', resource: API }));
    await assertProxied(stack, await forge(stack, { aud: TEST_CLIENT_ID }));
  });

  it(
    'an ID token without nonce or at_hash (as some providers refresh them) for the client id is refused: no access-token marker',
    async () => {
      const idLike = await stack.idp.signJwt({
        iss: stack.idp.issuer,
        sub: 'alice',
        aud: TEST_CLIENT_ID,
        azp: TEST_CLIENT_ID,
        iat: now(),
        exp: now() + 300,
        auth_time: now() - 60,
        sid: 'session-id',
        email: 'alice@example.com',
        groups: ['admins'],
      });
      await assertInvalidToken(stack, idLike);
    },
  );
});

describe('bearer tokens: api.acceptBearerTokens false (the default)', () => {
  let stack: Stack;
  let alice: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        withBearers()(c);
        c.api = { audiences: [API] };
      },
    });
    alice = await stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API });
  });
  after(() => stack.close());

  it('a valid token is ignored: 401 unauthenticated for an API call, 302 for a navigation, 401 in forward-auth', async () => {
    const fetches = stack.idp.jwksRequests();
    const seen = stack.upstream.requests.length;
    const apiCall = await call(stack, '/api/things', `Bearer ${alice}`);
    assert.equal(apiCall.status, 401);
    assert.deepEqual(await apiCall.json(), { error: 'unauthenticated' });
    assert.equal(apiCall.headers.get('www-authenticate'), 'Bearer realm="authgate"');

    const navigation = await call(stack, '/page', `Bearer ${alice}`, NAVIGATION_ACCEPT);
    assert.equal(navigation.status, 302);
    assert.ok(navigation.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));

    const forwardAuth = await fetch(`${stack.publicUrl}/oauth2/auth`, {
      headers: { 'x-forwarded-uri': '/', authorization: `Bearer ${alice}`, accept: JSON_ACCEPT },
    });
    assert.equal(forwardAuth.status, 401);
    assert.deepEqual(await forwardAuth.json(), { error: 'unauthenticated' });

    const invalid = await call(stack, '/api/things', 'Bearer x.y.z');
    assert.deepEqual(await invalid.json(), { error: 'unauthenticated' }, 'nor is a bad one judged');
    assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
    assert.equal(stack.idp.jwksRequests(), fetches, 'no token was checked');
  });
});
