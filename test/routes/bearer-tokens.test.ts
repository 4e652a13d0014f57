/**
 * API clients with `Authorization: Bearer <JWT>` (api.acceptBearerTokens): real JWT access tokens from the
 * provider (RFC 9068, through resource indicators) pass and go through the same policy as sessions, a
 * session wins over a bearer, verified tokens are cached, and forward-auth judges bearers the same way.
 * Attacks, key handling and ID tokens are in the other test/routes/bearer-*.test.ts files.
 *
 * Tokens come from the real provider (test/helpers/idp.ts issueJwtAccessToken: an authorization code or
 * client_credentials grant with `resource=`), or are forged with the provider's key exactly as it signs them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { API, assertProxied, call, forge, INVALID_TOKEN_CHALLENGE, JSON_ACCEPT, now, withBearers } from './bearer-fixtures.js';

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
