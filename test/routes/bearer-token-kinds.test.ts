/**
 * Which tokens count as bearer tokens at all: ID tokens are refused even when api.audiences names the client
 * id (a real login's ID token, one without nonce or at_hash), and with api.acceptBearerTokens false (the
 * default) a valid access token is ignored everywhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { API, assertInvalidToken, assertProxied, call, forge, JSON_ACCEPT, NAVIGATION_ACCEPT, now, withBearers } from './bearer-fixtures.js';

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
