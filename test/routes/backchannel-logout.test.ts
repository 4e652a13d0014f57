/**
 * POST /oauth2/backchannel_logout (OpenID Connect Back-Channel Logout 1.0) with the cookie store: the
 * provider's own logout tokens and tokens forged with the provider's key end exactly the sessions they name,
 * and the outcomes are counted in /metrics; refused tokens are in backchannel-logout-refused.test.ts. All
 * over real HTTP against a real gateway and a real oidc-provider.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../helpers/gateway.js';
import { backchannelHelpers, FORM, startBackchannelStack, type SessionBox } from './backchannel-fixtures.js';

describe('back-channel logout', () => {
  let stack: Stack;
  let sessionBox: SessionBox;

  before(async () => {
    ({ stack, sessionBox } = await startBackchannelStack());
  });
  after(() => stack.close());

  const { sessionOf, assertSignedIn, assertSignedOut, logoutClaims, sign, send, postToken, logoutCount } = backchannelHelpers(() => stack, () => sessionBox);

  it("the provider's own logout ends alice's session, not bob's, and not alice's next login", async () => {
    const alice = await stack.signIn('alice');
    const bob = await stack.signIn('bob');
    await assertSignedIn(alice, 'alice');
    await assertSignedIn(bob, 'bob');
    const accepted = await logoutCount('accepted');

    await stack.idp.backchannelLogout('alice'); // rejects unless the gateway answered 200

    assert.equal(await logoutCount('accepted'), accepted + 1);
    await assertSignedOut(alice, 'alice');
    await assertSignedIn(bob, 'bob');
    const aliceAgain = await stack.signIn('alice');
    await assertSignedIn(aliceAgain, 'alice (new login)');
    await assertSignedIn(bob, 'bob');
  });

  it('a valid token naming a sid ends exactly that session', async () => {
    const first = await stack.signIn('alice');
    const second = await stack.signIn('alice');
    const bob = await stack.signIn('bob');
    const target = sessionOf(first);
    assert.equal(target.sub, 'alice');
    assert.notEqual(sessionOf(second).providerSid, target.providerSid, 'two browsers, two provider sessions');

    const answer = await postToken(await sign(logoutClaims({ sub: 'alice', sid: target.providerSid })));
    assert.equal(answer.status, 200);

    await assertSignedOut(first, 'alice (the named sid)');
    await assertSignedIn(second, "alice's other session");
    await assertSignedIn(bob, 'bob');

    // With a sid, only sessions of that provider session end, even though sub names alice.
    const other = await postToken(await sign(logoutClaims({ sub: 'alice', sid: `unknown-${randomUUID()}` })));
    assert.equal(other.status, 200);
    await assertSignedIn(second, "alice's other session");
  });

  it('accepts the form content type with parameters and in any case, as providers send it', async () => {
    const browser = await stack.signIn('bob');
    const token = await sign(logoutClaims({ sid: sessionOf(browser).providerSid, sub: 'bob' }));
    const answer = await send({ body: new URLSearchParams({ logout_token: token }).toString(), contentType: 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' });
    assert.equal(answer.status, 200);
    await assertSignedOut(browser, 'bob');
  });

  it('a valid token naming only a sub ends all of that user’s sessions, and a later login works', async () => {
    const first = await stack.signIn('alice');
    const second = await stack.signIn('alice');
    const bob = await stack.signIn('bob');

    const answer = await postToken(await sign(logoutClaims({ sub: 'alice' })));
    assert.equal(answer.status, 200);

    await assertSignedOut(first, 'alice (first session)');
    await assertSignedOut(second, 'alice (second session)');
    await assertSignedIn(bob, 'bob');
    const later = await stack.signIn('alice');
    await assertSignedIn(later, 'alice (login after the logout)');
  });


  it('counts accepted, invalid and replayed logouts in /metrics', async () => {
    const before = { accepted: await logoutCount('accepted'), invalid: await logoutCount('invalid'), replayed: await logoutCount('replayed') };
    const token = await sign(logoutClaims({ sid: `unused-${randomUUID()}` }));
    assert.equal((await postToken(token)).status, 200);
    assert.equal((await postToken(token)).status, 400);
    assert.equal((await postToken('abc')).status, 400);
    assert.equal((await postToken(await sign(logoutClaims({ sid: 'x' }), { key: 'other' }))).status, 400);
    assert.equal((await send({ body: '', contentType: FORM })).status, 400);
    assert.deepEqual(
      { accepted: await logoutCount('accepted'), invalid: await logoutCount('invalid'), replayed: await logoutCount('replayed') },
      { accepted: before.accepted + 1, invalid: before.invalid + 3, replayed: before.replayed + 1 },
    );
  });
});
