/**
 * The Redis store through Sentinel and Cluster URLs, against a real Sentinel and a real three-master
 * Cluster: sign in, use the session, sign out and find the copied cookie dead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startCluster, startSentinel } from '../helpers/redis-topologies.js';

for (const [topology, start] of [
  ['Sentinel', startSentinel],
  ['Cluster', startCluster],
] as const) {
  describe(`Redis store through ${topology}`, () => {
    let stack: Stack;
    let redis: { url: string; close(): Promise<void> };
    before(async () => {
      redis = await start();
      stack = await startStack({
        configure: (c) => {
          c.session.store = 'redis';
          c.session.redis = { url: redis.url };
        },
      });
    });
    after(async () => {
      await stack.close();
      await redis.close();
    });

    it('is ready once it reaches Redis', async () => {
      // The client connects in the background; readiness follows within a few reconnect attempts.
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = (await fetch(`${stack.publicUrl}/ready`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 200);
    });

    it('keeps sessions there: sign in, use it, sign out kills a copied cookie', async () => {
      const alice = await stack.signIn('alice');
      const cookie = alice.jar.get('authgate')?.value ?? '';
      const api = (c: string) => fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', cookie: `authgate=${c}` } });
      assert.equal((await api(cookie)).status, 200);
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
      await alice.fetch(`${stack.publicUrl}/oauth2/sign_out`);
      assert.equal((await api(cookie)).status, 401);
    });
  });
}
