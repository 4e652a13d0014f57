/**
 * Forged, confused, stale and malformed bearer tokens (bad signature, alg none/HS256/confusion with the
 * public key, wrong aud or iss, expiry, unknown kids, ID-token marks, tampered real tokens) get 401
 * invalid_token and never reach the upstream; a header that is no bearer token counts as no credentials.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type Stack } from '../helpers/gateway.js';
import { API, assertInvalidToken, call, claimsOf, forge, NAVIGATION_ACCEPT, now, withBearers } from './bearer-fixtures.js';

describe('bearer tokens (api.acceptBearerTokens: true, audiences [api])', () => {
  let stack: Stack;
  let alice: string;
  let bob: string;
  before(async () => {
    stack = await startStack({ configure: withBearers() });
    [alice, bob] = await Promise.all([
      stack.idp.issueJwtAccessToken({ sub: 'alice', resource: API }),
      stack.idp.issueJwtAccessToken({ sub: 'bob', resource: API }),
    ]);
  });
  after(() => stack.close());


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

});
