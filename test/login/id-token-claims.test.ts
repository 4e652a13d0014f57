/**
 * The claims of a login's ID token, each signed correctly with the provider's own key so that only the claim
 * check can refuse it: iss, aud, azp, exp, iat (oidc.clockSkew, oidc.maxIdTokenAge), nonce and sub. Some of
 * these openid-client refuses too; azp with one audience and the iat window only the gateway's own check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';
import { assertRefusedLogin, loginWith, signedIn } from './forged-login.js';

const now = () => Math.floor(Date.now() / 1000);
type Claims = Record<string, unknown>;
const without = (name: string) => (c: Claims) => Object.fromEntries(Object.entries(c).filter(([key]) => key !== name));

describe('ID token claims at login', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const refused: Array<[string, (c: Claims) => Claims, RegExp]> = [
    ['another issuer', (c) => ({ ...c, iss: 'https://evil.example' }), /iss/],
    ['the issuer with a trailing slash', (c) => ({ ...c, iss: `${String(c.iss)}/` }), /iss/],
    ['no iss', without('iss'), /iss/],
    ['an audience without the client', (c) => ({ ...c, aud: 'another-client' }), /aud/],
    ['several audiences without azp', (c) => ({ ...c, aud: [TEST_CLIENT_ID, 'another-client'] }), /aud|azp/],
    ['azp of another client (one audience)', (c) => ({ ...c, azp: 'another-client' }), /azp/],
    ['azp of another client (several audiences)', (c) => ({ ...c, aud: [TEST_CLIENT_ID, 'another-client'], azp: 'another-client' }), /azp/],
    ['an exp past the clock skew', (c) => ({ ...c, iat: now() - 300, exp: now() - 120 }), /exp/],
    ['no exp', without('exp'), /exp/],
    ['an iat beyond the clock skew in the future', (c) => ({ ...c, iat: now() + 120 }), /iat/],
    ['an iat older than maxIdTokenAge', (c) => ({ ...c, iat: now() - 11 * 60 }), /iat/],
    ['no iat', without('iat'), /iat/],
    ['an iat that is not a number', (c) => ({ ...c, iat: String(now()) }), /iat/],
    ['no nonce', without('nonce'), /nonce/],
    ["another login's nonce", (c) => ({ ...c, nonce: 'x'.repeat(43) }), /nonce/],
    ['no sub', without('sub'), /sub/],
    ['an empty sub', (c) => ({ ...c, sub: '' }), /sub/],
    ['a sub that is not a string', (c) => ({ ...c, sub: 42 }), /sub/],
  ];
  for (const [name, claims, reason] of refused) {
    it(`refuses ${name}`, async () => {
      await assertRefusedLogin(stack, { claims }, reason);
    });
  }

  const accepted: Array<[string, (c: Claims) => Claims]> = [
    ['azp naming the client', (c) => ({ ...c, azp: TEST_CLIENT_ID })],
    ['several audiences with azp naming the client', (c) => ({ ...c, aud: [TEST_CLIENT_ID, 'another-client'], azp: TEST_CLIENT_ID })],
    ['an iat 30 seconds in the future (within the default 60s clock skew)', (c) => ({ ...c, iat: now() + 30 })],
    ['an iat 9 minutes old (within the default 10m maxIdTokenAge)', (c) => ({ ...c, iat: now() - 9 * 60 })],
  ];
  for (const [name, claims] of accepted) {
    it(`accepts ${name}`, async () => {
      const { status, browser } = await loginWith(stack, { claims });
      assert.equal(status, 200);
      assert.equal(await signedIn(stack, browser), true);
    });
  }
});

describe('ID token age limits follow oidc.clockSkew and oidc.maxIdTokenAge', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: (c) => Object.assign(c.oidc, { clockSkew: '5s', maxIdTokenAge: '2m' }) });
  });
  after(() => stack.close());

  it('refuses an iat 30 seconds in the future with clockSkew 5s', async () => {
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, iat: now() + 30 }) }, /iat/);
  });

  it('refuses an iat 3 minutes old with maxIdTokenAge 2m', async () => {
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, iat: now() - 180 }) }, /iat/);
  });

  it('accepts an iat 1 minute old', async () => {
    const { status } = await loginWith(stack, { claims: (c) => ({ ...c, iat: now() - 60 }) });
    assert.equal(status, 200);
  });
});
