/**
 * Failover drill through Redis Sentinel: signed-in users keep sending requests while the master is killed
 * (SIGKILL) and the Sentinels promote its replica. Nobody is signed out, every failed answer is a 503, and
 * the 503s stop within a bound once the replica is master.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCliStack, type CliStack } from '../helpers/gateway.js';
import { assertNobodySignedOut, signInUsers, startLoad, type LoadUser } from '../helpers/failover-load.js';
import { startFailoverSentinel, waitFor, waitForReplication, type FailoverSentinel } from '../helpers/redis-failover.js';

/** The test provider knows alice and bob: three sessions (browsers) each. */
const LOGINS = ['alice', 'bob', 'alice', 'bob', 'alice', 'bob'];

describe('Sentinel failover drill', () => {
  let redis: FailoverSentinel;
  let stack: CliStack;
  let users: LoadUser[];
  before(async () => {
    redis = await startFailoverSentinel();
    stack = await startCliStack({
      configure: (c) => {
        c.session.store = 'redis';
        c.session.redis = { url: redis.url };
      },
    });
    await waitFor('the gateway to be ready', async () => ((await fetch(`${stack.publicUrl}/ready`)).status === 200 ? true : undefined));
    users = await signInUsers(stack.publicUrl, LOGINS);
    // The sessions must be on the replica before the master dies: replication is asynchronous.
    await waitForReplication(redis.master.port, redis.replica.port);
  });
  after(async () => {
    await stack?.close();
    await redis?.close();
  });

  it('keeps every user signed in while the master is killed and the replica promoted; only 503s meanwhile', async (t) => {
    const load = startLoad({ url: `${stack.publicUrl}/drill`, users, concurrency: 6, cookiePrefix: 'authgate' });
    let report;
    try {
      await load.streak(50, 20_000); // the load works before anything breaks
      const oldMaster = redis.master.port;
      const killedAt = Date.now();
      await redis.master.kill();
      const newMaster = await waitFor('the Sentinels to promote the replica', async () => {
        const port = await redis.masterPort();
        return port !== oldMaster ? port : undefined;
      }, 30_000);
      const promotedAt = Date.now();
      assert.equal(newMaster, redis.replica.port);
      await load.streak(200, 30_000);
      report = await load.stop();
      t.diagnostic(`promotion ${promotedAt - killedAt} ms after the kill`);
    } finally {
      report ??= await load.stop();
    }
    await assertNobodySignedOut(t, report, users, stack);
  });
});
