/**
 * The keys bearer tokens verify with: unknown kids cannot make the gateway hammer the provider's JWKS, a
 * rotated-in key is picked up and a withdrawn one stops verifying (through the unknown-kid refetch and the
 * periodic refreshes), and an unreachable JWKS is 503 for an unknown kid only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import { startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { waitUntil } from '../login/forged-login.js';
import { API, assertInvalidToken, assertProxied, call, forge, JSON_ACCEPT, withBearers } from './bearer-fixtures.js';

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
