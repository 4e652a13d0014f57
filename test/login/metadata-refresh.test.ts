/**
 * The provider's metadata and JWKS are fetched again every `oidc.metadataRefresh`: a key the provider
 * withdraws stops verifying ID tokens without any unknown kid or restart, and a refresh that fails keeps the
 * keys the gateway has (logged as a warning), so logins go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { assertRefusedLogin, loginWith, signedIn, waitUntil } from './forged-login.js';

describe('oidc.metadataRefresh', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: (c) => (c.oidc.metadataRefresh = '1s') });
  });
  after(() => stack.close());

  const waitForJwksFetches = async (count: number) => {
    const target = stack.idp.jwksRequests() + count;
    await waitUntil(() => stack.idp.jwksRequests() >= target, `${count} periodic JWKS fetch(es)`);
  };

  it('keeps the old keys when a refresh cannot fetch the JWKS, and logs a warning', async () => {
    stack.idp.failJwks(true);
    await waitForJwksFetches(1);
    await waitUntil(() => stack.gateway.logs.some((l) => l.includes('provider metadata refresh failed')), 'the warning');
    stack.idp.failJwks(false);
    const { status, browser } = await loginWith(stack, {});
    assert.equal(status, 200);
    assert.equal(await signedIn(stack, browser), true);
  });

  it('stops accepting a withdrawn key once the periodic refresh has seen the new JWKS', async () => {
    const other = stack.idp.publicJwk('other');
    stack.idp.publishJwks({ keys: [other] });
    // Two fetches: the first may have started before the JWKS changed.
    await waitForJwksFetches(2);
    await assertRefusedLogin(stack, {}, /kid/);
    assert.equal((await loginWith(stack, { sign: { key: 'other', kid: other.kid } })).status, 200, 'the new key verifies');
  });
});
