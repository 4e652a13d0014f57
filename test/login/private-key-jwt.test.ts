/**
 * private_key_jwt (RFC 7523) against the real provider: the assertion as the provider received it (alg
 * from the key, kid = RFC 7638 thumbprint, iss = sub = client id, aud = issuer, jti, exp), for RSA, P-256
 * and Ed25519 keys given as PEM, JWK or file; the same authentication for PAR, the code grant, the
 * refresh grant, introspection and the revocation at sign-out; client_secret_jwt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { testKey, type TestKey } from '../helpers/client-keys.js';
import { baseConfig, startGateway, startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type StartedGateway, type Stack, type StackOptions } from '../helpers/gateway.js';
import type { TokenRequestRecord } from '../helpers/idp.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { createTestClock } from '../helpers/test-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'authgate-pkjwt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stack whose gateway signs with `key` (given as `text`, or from a file) and whose registration holds `registered`. */
async function keyStack(key: TestKey, how: { text?: string; file?: boolean; registered?: TestKey } & StackOptions): Promise<Stack> {
  const { text = key.pkcs8, file = false, registered = key, configure, ...rest } = how;
  // Registered under the kid the gateway derives (the provider picks the key by the assertion's kid).
  const jwk = { ...registered.publicJwk, kid: await calculateJwkThumbprint(registered.publicKey) };
  return startStack({
    ...rest,
    clientAuthMethod: 'private_key_jwt',
    client: (publicUrl) => ({ clientSecret: undefined, jwks: { keys: [jwk] }, ...rest.client?.(publicUrl) }),
    configure: (c) => {
      c.oidc.clientAuthMethod = 'private_key_jwt';
      delete c.oidc.clientSecret;
      if (file) {
        const path = join(dir, `key-${Math.random().toString(36).slice(2)}`);
        writeFileSync(path, text);
        (c.oidc as Record<string, unknown>).clientPrivateKeyFile = path;
      } else {
        c.oidc.clientPrivateKey = text;
      }
      configure?.(c);
    },
  });
}

/** Checks an assertion as RFC 7523 and FAPI 2.0 want it. */
async function assertAssertion(record: TokenRequestRecord | undefined, stack: Stack, key: TestKey, alg: string): Promise<void> {
  assert.ok(record, 'the request was recorded');
  assert.equal(record.authMethod, 'private_key_jwt');
  assert.equal(record.status, record.endpoint === 'par' ? 201 : 200);
  const { header, payload } = record.clientAssertion ?? assert.fail('no client assertion');
  assert.equal(header.alg, alg);
  assert.equal(header.kid, await calculateJwkThumbprint(key.publicKey));
  assert.equal(payload.iss, TEST_CLIENT_ID);
  assert.equal(payload.sub, TEST_CLIENT_ID);
  assert.equal(payload.aud, stack.idp.issuer, 'aud is the issuer (FAPI 2.0)');
  assert.match(String(payload.jti), /^[A-Za-z0-9_-]{20,}$/);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(typeof payload.exp === 'number' && payload.exp > now - 5 && payload.exp <= now + 65, 'short-lived');
  assert.ok(!('d' in header) && !Object.keys(payload).some((name) => name === 'client_secret'));
}

const KEYS: Array<{ name: string; key: TestKey; alg: string; how: (key: TestKey) => { text?: string; file?: boolean } }> = [
  { name: 'an RSA key as a PKCS#8 PEM', key: testKey('rsa'), alg: 'RS256', how: () => ({}) },
  { name: 'a P-256 key as a JWK in a file', key: testKey('p256'), alg: 'ES256', how: (key) => ({ text: key.jwkText, file: true }) },
  { name: 'an Ed25519 key as a PEM', key: testKey('ed25519'), alg: 'Ed25519', how: () => ({}) },
];

for (const { name, key, alg, how } of KEYS) {
  describe(`private_key_jwt with ${name}`, () => {
    let stack: Stack;
    before(async () => {
      stack = await keyStack(key, how(key));
    });
    after(() => stack.close());

    it(`signs the code grant's assertion with ${alg}, the thumbprint as kid, aud the issuer`, async () => {
      await stack.signIn('alice');
      const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code');
      await assertAssertion(grant, stack, key, alg);
    });

    it('makes a fresh jti for every request', async () => {
      await stack.signIn('bob');
      const jtis = stack.idp.tokenRequests.map((r) => r.clientAssertion?.payload.jti);
      assert.equal(new Set(jtis).size, jtis.length);
    });
  });
}

describe('private_key_jwt for every call the gateway authenticates', () => {
  const key = testKey('p256');
  const clock = createTestClock();
  let stack: Stack;
  before(async () => {
    stack = await keyStack(key, {
      now: clock.now,
      idp: { accessTokenTtl: 300, par: 'on' },
      configure: (c) => {
        c.api = { acceptBearerTokens: true, introspectOpaqueTokens: true };
      },
    });
  });
  after(() => stack.close());

  it('pushes the authorization request, refreshes, introspects and revokes with the same assertion', async () => {
    const browser = await stack.signIn('alice');
    await assertAssertion(stack.idp.clientRequests.find((r) => r.endpoint === 'par'), stack, key, 'ES256');
    const session = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(browser.jar.get('authgate')?.value ?? '')?.data as {
      tokens: { accessToken: string };
    };
    const introspected = await fetch(`${stack.publicUrl}/api/items`, { headers: { accept: 'application/json', authorization: `Bearer ${session.tokens.accessToken}` } });
    assert.equal(introspected.status, 200);
    await introspected.body?.cancel();
    await assertAssertion(stack.idp.clientRequests.find((r) => r.endpoint === 'introspection'), stack, key, 'ES256');

    clock.advance(260_000); // within refreshSkew (60 s) of the token's expiry, as the gateway sees it
    const due = await browser.fetch(`${stack.publicUrl}/app`, { headers: { accept: 'application/json' } });
    assert.equal(due.status, 200);
    await due.body?.cancel();
    await assertAssertion(stack.idp.tokenRequests.find((r) => r.grantType === 'refresh_token'), stack, key, 'ES256');

    const signedOut = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out`);
    assert.equal(signedOut.status, 302);
    const revocation = stack.idp.clientRequests.find((r) => r.endpoint === 'revocation');
    await assertAssertion(revocation, stack, key, 'ES256');
    assert.equal(revocation?.tokenTypeHint, 'refresh_token');
  });
});

describe('the alg follows what the provider lists', () => {
  it('PS256 for an RSA key when the provider takes PS256 and not RS256; EdDSA for Ed25519 when it knows only that name', async () => {
    for (const [key, algs, expected] of [
      [testKey('rsa'), ['PS256', 'ES256'], 'PS256'],
      [testKey('ed25519'), ['EdDSA', 'ES256'], 'EdDSA'],
    ] as const) {
      const stack = await keyStack(key, { idp: { clientAuthSigningAlgs: [...algs] } });
      try {
        await stack.signIn('alice');
        await assertAssertion(stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code'), stack, key, expected);
        const jwks = (await (await fetch(`${stack.publicUrl}/oauth2/jwks`)).json()) as { keys: Array<{ alg: string }> };
        assert.equal(jwks.keys[0]?.alg, expected, 'the published key names the alg it signs with');
      } finally {
        await stack.close();
      }
    }
  });
});

describe('client_secret_jwt', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ clientAuthMethod: 'client_secret_jwt', configure: (c) => (c.oidc.clientAuthMethod = 'client_secret_jwt') });
  });
  after(() => stack.close());

  it('signs the assertion with the secret (HS256) and signs the user in', async () => {
    await stack.signIn('alice');
    const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code');
    assert.equal(grant?.authMethod, 'client_secret_jwt');
    assert.equal(grant.status, 200);
    assert.equal(grant.clientAssertion?.header.alg, 'HS256');
    assert.equal(grant.clientAssertion.payload.aud, stack.idp.issuer);
    assert.equal(grant.clientAssertion.payload.sub, TEST_CLIENT_ID);
  });
});

describe('clientAssertionAudience: tokenEndpoint (for providers that want it, e.g. Okta, login.gov)', () => {
  it('puts the token endpoint in the aud of every assertion: PAR, code grant, refresh, revocation', async () => {
    const key = testKey('p256');
    const clock = createTestClock();
    const stack = await keyStack(key, {
      now: clock.now,
      idp: { accessTokenTtl: 300, par: 'on' },
      configure: (c) => (c.oidc.clientAssertionAudience = 'tokenEndpoint'),
    });
    try {
      const browser = await stack.signIn('alice');
      clock.advance(260_000); // within refreshSkew of the token's expiry
      const due = await browser.fetch(`${stack.publicUrl}/app`, { headers: { accept: 'application/json' } });
      assert.equal(due.status, 200);
      await due.body?.cancel();
      const signedOut = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out`);
      assert.equal(signedOut.status, 302);
      const seen = stack.idp.clientRequests.map((r) => [r.endpoint, r.grantType, r.status, r.clientAssertion?.payload.aud]);
      const tokenEndpoint = `${stack.idp.issuer}/token`;
      assert.deepEqual(seen, [
        ['par', '', 201, tokenEndpoint],
        ['token', 'authorization_code', 200, tokenEndpoint],
        ['token', 'refresh_token', 200, tokenEndpoint],
        ['revocation', '', 200, tokenEndpoint],
      ]);
    } finally {
      await stack.close();
    }
  });

  it('client_secret_jwt too', async () => {
    const stack = await startStack({
      clientAuthMethod: 'client_secret_jwt',
      configure: (c) => {
        c.oidc.clientAuthMethod = 'client_secret_jwt';
        c.oidc.clientAssertionAudience = 'tokenEndpoint';
      },
    });
    try {
      await stack.signIn('alice');
      const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code');
      assert.equal(grant?.status, 200);
      assert.equal(grant.clientAssertion?.payload.aud, `${stack.idp.issuer}/token`);
    } finally {
      await stack.close();
    }
  });
});

describe('a key the provider does not know', () => {
  it('fails the login with a clear page, not a 500', async () => {
    const stack = await keyStack(testKey('p256'), { registered: testKey('p256') });
    try {
      const result = await stack.browser().login(`${stack.publicUrl}/`, 'alice');
      assert.equal(result.response?.status, 400);
      const page = (await result.response?.text()) ?? '';
      assert.match(page, /Sign-in failed/);
      assert.match(page, /The provider refused the sign-in: invalid_client/);
      assert.equal(stack.idp.tokenRequests.at(-1)?.status, 401);
    } finally {
      await stack.close();
    }
  });

  it('keeps the session when a refresh is refused for it: an outage of the gateway, not the user\'s fault', async () => {
    const key = testKey('p256');
    const clock = createTestClock();
    const stack = await keyStack(key, { now: clock.now, idp: { accessTokenTtl: 300 } });
    let gateway: StartedGateway | undefined;
    const restartWith = async (text: string) => {
      await (gateway ?? stack.gateway).close();
      const tree = baseConfig({ publicUrl: stack.publicUrl, issuer: stack.idp.issuer, upstreamUrl: stack.upstream.url, listenPort: stack.gateway.port });
      tree.oidc.clientAuthMethod = 'private_key_jwt';
      delete tree.oidc.clientSecret;
      tree.oidc.clientPrivateKey = text;
      gateway = await startGateway(tree, { port: stack.gateway.port, now: clock.now });
    };
    try {
      const browser = await stack.signIn('alice');
      const signedIn = stack.upstream.last()?.headers.authorization;
      await restartWith(testKey('p256').pkcs8); // the operator deployed the wrong key
      clock.advance(260_000); // the token is due (within refreshSkew) but still valid
      const refused = await browser.fetch(`${stack.publicUrl}/during`, { headers: { accept: 'application/json' } });
      assert.equal(refused.status, 200, 'the still-valid token is used');
      await refused.body?.cancel();
      const attempt = stack.idp.tokenRequests.at(-1);
      assert.equal(attempt?.grantType, 'refresh_token');
      assert.equal(attempt.status, 401, 'the provider refused the assertion');
      assert.equal(stack.upstream.last()?.headers.authorization, signedIn);
      assert.ok(gateway?.logEntries().some((entry) => entry.msg === 'token refresh failed'));

      await restartWith(key.pkcs8); // fixed
      const fixed = await browser.fetch(`${stack.publicUrl}/after`, { headers: { accept: 'application/json' } });
      assert.equal(fixed.status, 200, 'the same session goes on');
      await fixed.body?.cancel();
      assert.equal(stack.idp.tokenRequests.at(-1)?.status, 200, 'and its refresh token still works');
      assert.notEqual(stack.upstream.last()?.headers.authorization, signedIn, 'with the new token');
    } finally {
      await (gateway ?? stack.gateway).close();
      await Promise.all([stack.idp.close(), stack.upstream.close()]);
    }
  });
});
