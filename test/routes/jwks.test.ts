/**
 * GET /oauth2/jwks: the public halves of the private_key_jwt keys as a JWK Set, never a private member,
 * never passed to an upstream; a provider registered with it as `jwks_uri` fetches it and accepts the
 * gateway's assertions, one key per provider.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { jwksUriClient, testKey } from '../helpers/client-keys.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

async function getJwks(url: string): Promise<{ response: Response; keys: Array<Record<string, unknown>> }> {
  const response = await fetch(`${url}/oauth2/jwks`);
  const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
  return { response, keys };
}

describe('/oauth2/jwks without a private_key_jwt key', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('is the empty JWK Set, answered by the gateway (the upstream at "/" never sees it)', async () => {
    const before = stack.upstream.requests.length;
    const { response, keys } = await getJwks(stack.publicUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=300');
    assert.deepEqual(keys, []);
    assert.equal(stack.upstream.requests.length, before);
  });
});

describe('/oauth2/jwks with an RSA key', () => {
  const key = testKey('rsa');
  let stack: Stack;
  before(async () => {
    stack = await startStack(jwksUriClient(key.pkcs8));
  });
  after(() => stack.close());

  it('publishes the public half only: kty, n, e, kid, alg, use', async () => {
    const { response, keys } = await getJwks(stack.publicUrl);
    assert.equal(response.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(keys.length, 1);
    const [jwk] = keys;
    assert.deepEqual(Object.keys(jwk ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    for (const member of PRIVATE_MEMBERS) assert.ok(!(member in (jwk ?? {})), `no "${member}"`);
    assert.equal(jwk?.kid, await calculateJwkThumbprint(key.publicKey));
    assert.equal(jwk?.alg, 'RS256');
    assert.equal(jwk?.use, 'sig');
    assert.equal(jwk?.n, key.publicJwk.n);
  });

  it('is what a provider registered with jwks_uri fetches and verifies the login with', async () => {
    await stack.signIn('alice');
    const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code');
    assert.equal(grant?.authMethod, 'private_key_jwt');
    assert.equal(grant.status, 200);
  });
});

describe('several providers, each with its own method and key', () => {
  const corpKey = testKey('ed25519');
  const partnersKey = testKey('p256');
  let stack: TwoProviderStack;
  before(async () => {
    stack = await startTwoProviders({
      clients: (publicUrl) => ({
        corp: { authMethod: 'private_key_jwt', clientSecret: undefined, jwksUri: `${publicUrl}/oauth2/jwks` },
        partners: { authMethod: 'client_secret_post' },
      }),
      configure: (tree) => {
        const [corp, partners] = tree.providers ?? [];
        assert.ok(corp && partners);
        corp.clientAuthMethod = 'private_key_jwt';
        delete corp.clientSecret;
        corp.clientPrivateKey = corpKey.jwkText;
        partners.clientAuthMethod = 'client_secret_post';
        // A key for a provider that does not use private_key_jwt is not published.
        partners.clientPrivateKey = partnersKey.pkcs8;
      },
    });
  });
  after(() => stack.close());

  it('publishes only the key of the provider that signs with one', async () => {
    const { keys } = await getJwks(stack.publicUrl);
    assert.deepEqual(keys.map((jwk) => [jwk.kty, jwk.crv, jwk.alg]), [['OKP', 'Ed25519', 'Ed25519']]);
  });

  it('authenticates to each provider its own way', async () => {
    await stack.signIn('corp', 'alice');
    await stack.signIn('partners', 'bob');
    const atCorp = stack.corp.tokenRequests.find((r) => r.grantType === 'authorization_code');
    const atPartners = stack.partners.tokenRequests.find((r) => r.grantType === 'authorization_code');
    assert.equal(atCorp?.authMethod, 'private_key_jwt');
    assert.equal(atCorp.status, 200);
    assert.equal(atCorp.clientAssertion?.header.kid, await calculateJwkThumbprint(corpKey.publicKey));
    assert.equal(atCorp.clientAssertion.payload.aud, stack.corp.issuer);
    assert.equal(atPartners?.authMethod, 'client_secret_post');
    assert.equal(atPartners.status, 200);
  });
});
