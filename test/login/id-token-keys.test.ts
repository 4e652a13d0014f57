/**
 * Which of the provider's keys may sign an ID token, and what an unknown kid costs: the JWKS is fetched again
 * at once for a kid it does not hold (a real key rotation signs in with one extra fetch), at most once a
 * minute (a flood of made-up kids costs the provider nothing more); a token without kid must pick one key
 * unambiguously; a JWKS that cannot be fetched is an outage (503), not a bad token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { assertRefusedLogin, loginCount, loginWith, signedIn } from './forged-login.js';

describe('ID token keys: a kid that stays unknown', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('accepts a token without kid when the JWKS has exactly one key', async () => {
    const fetches = stack.idp.jwksRequests();
    const { status, browser } = await loginWith(stack, { sign: { kid: null } });
    assert.equal(status, 200);
    assert.equal(await signedIn(stack, browser), true);
    assert.equal(stack.idp.jwksRequests(), fetches, 'no JWKS fetch for a known key');
  });

  it('refuses a kid that is not in the JWKS even after fetching it again (one fetch)', async () => {
    const fetches = stack.idp.jwksRequests();
    await assertRefusedLogin(stack, { claims: (c) => ({ ...c, sub: 'mallory' }), sign: { key: 'other', kid: 'attacker-key' } }, /kid/);
    assert.equal(stack.idp.jwksRequests(), fetches + 1);
  });

  it('costs no further JWKS fetch for ten more made-up kids within the minute', async () => {
    const fetches = stack.idp.jwksRequests();
    for (let i = 0; i < 10; i++) {
      await assertRefusedLogin(stack, { sign: { kid: `made-up-${i}` } }, /kid/);
    }
    assert.equal(stack.idp.jwksRequests(), fetches);
    const { status } = await loginWith(stack, {});
    assert.equal(status, 200, 'the provider key still signs in');
  });
});

describe('ID token keys: rotation at the provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('signs in with a new key the provider now publishes, with exactly one extra JWKS fetch', async () => {
    const fetches = stack.idp.jwksRequests();
    const { status, browser } = await loginWith(stack, { publishOtherKey: true, sign: { key: 'other', kid: stack.idp.publicJwk('other').kid } });
    assert.equal(status, 200);
    assert.equal(await signedIn(stack, browser), true);
    assert.equal(stack.idp.jwksRequests(), fetches + 1);
  });

  it('then refuses a second unknown kid within the minute without fetching', async () => {
    const fetches = stack.idp.jwksRequests();
    await assertRefusedLogin(stack, { sign: { key: 'other', kid: 'yet-another-key' } }, /kid/);
    assert.equal(stack.idp.jwksRequests(), fetches);
  });

  it('refuses a token without kid now that the JWKS has several keys', async () => {
    await assertRefusedLogin(stack, { sign: { kid: null } }, /no kid|several keys/);
    await assertRefusedLogin(stack, { sign: { key: 'other', kid: null } }, /no kid|several keys/);
  });

  it('still accepts both published keys under their own kids', async () => {
    assert.equal((await loginWith(stack, {})).status, 200);
    assert.equal((await loginWith(stack, { sign: { key: 'other', kid: stack.idp.publicJwk('other').kid } })).status, 200);
  });
});

describe('ID token keys: the JWKS cannot be fetched', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('answers 503 (provider unavailable), sets no session, and signs in again once the JWKS answers', async () => {
    stack.idp.failJwks(true);
    const before = await loginCount(stack, 'unavailable');
    const { status, body, browser } = await loginWith(stack, { publishOtherKey: true, sign: { key: 'other', kid: stack.idp.publicJwk('other').kid } });
    assert.equal(status, 503);
    assert.doesNotMatch(body, /could not be verified/);
    assert.equal(browser.jar.get('authgate'), undefined);
    assert.equal(await signedIn(stack, browser), false);
    assert.equal(await loginCount(stack, 'unavailable'), before + 1);
    stack.idp.failJwks(false);
    assert.equal((await loginWith(stack, {})).status, 200, 'the keys it had still verify');
  });
});
