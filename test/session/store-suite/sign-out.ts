/**
 * Ending sessions against the store under test: the user signing out, and the provider's back-channel
 * logout ending every session of one user.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertCookieCleared, COOKIE, cookieValue, JSON_ACCEPT, type SessionStoreSetup } from './helpers.js';
import { startStoreStack, type StoreStack } from './stack.js';

/** Sign-out and back-channel logout. */
export function describeSignOut(setup: SessionStoreSetup): void {
  describe('sign-out', () => {
    let stack: StoreStack;
    before(async () => {
      stack = await startStoreStack(setup);
    });
    after(() => stack.close());

    it(
      setup.shared
        ? 'ends the session everywhere: a cookie copied before sign-out is dead'
        : 'ends the browser\'s session; a copied stateless cookie stays valid until its timeouts (documented limitation)',
      async () => {
        const browser = await stack.signIn('alice');
        const copied = cookieValue(browser);
        assert.ok(copied);
        const out = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out`);
        assert.equal(out.status, 302);
        const endSession = out.headers.get('location') ?? '';
        assert.ok(endSession.startsWith(stack.idp.issuer), `RP-initiated logout at the provider, got ${endSession}`);
        assertCookieCleared(out, 'sign-out');
        await browser.logout(endSession); // confirm at the provider, back to the application
        assert.equal(cookieValue(browser), undefined);
        const own = await stack.api(browser);
        assert.equal(own.status, 401, 'the browser is signed out');
        await own.body?.cancel();

        const replay = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${copied}` } });
        await replay.body?.cancel();
        if (setup.shared) {
          assert.equal(replay.status, 401, 'the record was deleted: the copy is dead');
          assert.equal(await stack.rawRecord(copied), null);
        } else {
          // Nothing server-side can forget a stateless cookie; only timeouts, a failed refresh or a
          // back-channel logout end it (docs/sessions.md).
          assert.equal(replay.status, 200, 'the stateless copy still works');
          assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
        }
      },
    );
  });

  describe('back-channel logout from the provider', () => {
    let stack: StoreStack;
    before(async () => {
      stack = await startStoreStack(setup, { backchannelLogout: true });
    });
    after(() => stack.close());

    it('ends every session of the user the provider logged out, and nobody else\'s', async () => {
      const alice = await stack.signIn('alice');
      const aliceElsewhere = await stack.signIn('alice');
      const bob = await stack.signIn('bob');
      const accepted = await stack.metric('authgate_backchannel_logouts_total{outcome="accepted",provider="default"}');
      // Rejects when the gateway refused a logout token.
      await stack.idp.backchannelLogout('alice');
      assert.equal(await stack.metric('authgate_backchannel_logouts_total{outcome="accepted",provider="default"}'), accepted + 2, 'one logout token per provider session');

      for (const [browser, which] of [[alice, 'first'], [aliceElsewhere, 'second']] as const) {
        const response = await stack.api(browser);
        assert.equal(response.status, 401, `alice's ${which} session is over`);
        await response.body?.cancel();
        if (setup.shared) assert.equal(await stack.sessionOf(browser), null, 'its record was deleted');
      }
      const page = await alice.fetch(`${stack.publicUrl}/reports`);
      assert.equal(page.status, 302);
      assert.ok(page.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));

      const other = await stack.api(bob);
      assert.equal(other.status, 200, "bob's session is not affected");
      await other.body?.cancel();
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
    });
  });
}
