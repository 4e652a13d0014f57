/**
 * The ID token of a login must carry a signature the provider's JWKS verifies, with an asymmetric algorithm
 * the provider advertises. openid-client 6 does not check the signature of a token-endpoint ID token, so
 * these all created a session with the forger's claims before. The provider here advertises HS256 next to
 * RS256, so only the gateway's own rule (never HS*) refuses the HMAC forgery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_SECRET, type Stack } from '../helpers/gateway.js';
import { assertRefusedLogin, loginWith, signedIn } from './forged-login.js';

describe('ID token signature at login', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ idp: { idTokenSigningAlgs: ['HS256', 'RS256'] } });
  });
  after(() => stack.close());

  it('accepts the provider\'s token re-signed with its own key (the hook itself changes nothing)', async () => {
    const { status, browser } = await loginWith(stack, {});
    assert.equal(status, 200);
    assert.equal(await signedIn(stack, browser), true);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
  });

  it('refuses a token signed with a key that is not in the JWKS (under the provider\'s kid)', async () => {
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, sub: 'mallory', groups: ['admins'] }), sign: { key: 'other' } }, /signature/);
  });

  it('refuses an unsigned token (alg none)', async () => {
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, sub: 'mallory' }), sign: { alg: 'none' } }, /alg/);
  });

  it('refuses HS256 signed with the client secret, though the provider advertises HS256', async () => {
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, sub: 'mallory' }), sign: { alg: 'HS256', secret: TEST_CLIENT_SECRET } }, /alg/);
  });

  it('refuses HS256 signed with the client secret and no kid', async () => {
    await assertRefusedLogin(stack, { sign: { alg: 'HS256', kid: null } }, /alg/);
  });
});
