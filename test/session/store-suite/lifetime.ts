/**
 * Session lifetime against the store under test: idle and absolute timeouts (judged on the gateway's
 * clock, which the scenario moves on), gateway restarts and session-key rotation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../../helpers/browser-client.js';
import { boxesFor, COOKIE, cookieValue, JSON_ACCEPT, KEY_A, KEY_B, KEY_C, sessionSetCookie, type SessionStoreSetup } from './helpers.js';
import { startStoreStack, type StoreStack } from './stack.js';

/** Timeouts, restarts and key rotation. */
export function describeLifetime(setup: SessionStoreSetup): void {
  describe('idle and absolute timeouts', () => {
    let stack: StoreStack;
    before(async () => {
      stack = await startStoreStack(setup, { session: { idleTimeout: '2s', absoluteTimeout: '4s' } });
    });
    after(() => stack.close());

    it('activity keeps a session past the idle timeout, inactivity ends it, the absolute timeout ends it anyway', async () => {
      const active = await stack.signIn('alice');
      const idle = await stack.signIn('bob');
      const activeSince = (await stack.sessionOf(active))?.createdAt;
      const idleSince = (await stack.sessionOf(idle))?.lastSeenAt;
      assert.ok(activeSince !== undefined && idleSince !== undefined);
      const expectStatus = async (browser: BrowserClient, status: number, why: string) => {
        const response = await stack.api(browser);
        await response.body?.cancel();
        assert.equal(response.status, status, why);
      };
      for (const at of [700, 1400, 2100]) {
        stack.clock.advanceTo(activeSince + at);
        await expectStatus(active, 200, `active session at ${at} ms`);
      }
      stack.clock.advanceTo(idleSince + 2200);
      await expectStatus(idle, 401, 'idle for longer than idleTimeout');
      for (const at of [2800, 3500]) {
        stack.clock.advanceTo(activeSince + at);
        await expectStatus(active, 200, `active session at ${at} ms`);
      }
      // Sent by hand: the browser may already have dropped it (its Max-Age is only a hint; the gateway decides).
      const lastCookie = active.jar.cookieHeader(stack.publicUrl) ?? '';
      stack.clock.advanceTo(activeSince + 4100);
      const late = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: lastCookie } });
      await late.body?.cancel();
      assert.equal(late.status, 401, 'past absoluteTimeout despite activity');
    });
  });

  describe('restarts and key rotation', () => {
    let stack: StoreStack;
    before(async () => {
      stack = await startStoreStack(setup, { session: { keys: [KEY_A] } });
    });
    after(() => stack.close());

    it('[A] → [B, A] keeps the session and re-seals it under B → [B] keeps it → [C] signs it out, never 5xx', async () => {
      const browser = await stack.signIn('alice');
      const underA = cookieValue(browser);
      assert.ok(underA);
      const [a, b] = await Promise.all([boxesFor([KEY_A], stack), boxesFor([KEY_B], stack)]);

      await stack.restart((tree) => (tree.session.keys = [KEY_B, KEY_A]));
      const rotated = await stack.api(browser);
      assert.equal(rotated.status, 200, 'the old key still opens the session');
      await rotated.body?.cancel();
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
      assert.ok(sessionSetCookie(rotated), 'the cookie is re-issued');
      const underB = cookieValue(browser);
      assert.ok(underB && underB !== underA);
      assert.ok(b.session.open(underB), 'the new cookie is sealed under B');
      assert.equal(a.session.open(underB), null, 'and no longer under A');
      if (stack.usesRedis) {
        const raw = await stack.rawRecord(underB);
        assert.ok(raw, 'the record is still there');
        assert.ok(b.record.open(raw), 'the Redis record was re-encrypted under B');
        assert.equal(a.record.open(raw), null, 'and no longer opens under A');
      }
      const settled = await stack.api(browser);
      assert.equal(settled.status, 200);
      await settled.body?.cancel();
      assert.equal(sessionSetCookie(settled), undefined, 'a cookie already under B is not re-sent');

      await stack.restart((tree) => (tree.session.keys = [KEY_B]));
      const onlyB = await stack.api(browser);
      assert.equal(onlyB.status, 200, 'the re-sealed session works without A');
      await onlyB.body?.cancel();
      const stale = await fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${underA}` } });
      assert.equal(stale.status, 401, 'a cookie under the removed key A is signed out');
      await stale.body?.cancel();

      await stack.restart((tree) => (tree.session.keys = [KEY_C]));
      const unknown = await stack.api(browser);
      assert.equal(unknown.status, 401, 'a session under a removed key is signed out, not a 5xx');
      assert.deepEqual(await unknown.json(), { error: 'unauthenticated' });
      const page = await browser.fetch(`${stack.publicUrl}/reports`);
      assert.equal(page.status, 302);
      assert.ok(page.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));
    });

    it('serves the first request after a restart with the same cookie (no 503 while the store connects)', async () => {
      const browser = await stack.signIn('bob');
      await stack.restart(() => undefined, { immediate: true });
      const first = await stack.api(browser);
      const body = await first.text();
      assert.equal(first.status, 200, `the first request after the restart: ${first.status} ${body}`);
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
    });
  });
}
