/**
 * Failover drill through Redis Sentinel: signed-in users keep sending requests while the master is killed
 * (SIGKILL) and the Sentinels promote its replica. Nobody is signed out, every failed answer is a 503, and
 * the 503s stop within a bound once the replica is master.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCliStack, type CliStack } from '../helpers/gateway.js';
import { signInUsers, startLoad, type LoadUser } from '../helpers/failover-load.js';
import { startFailoverSentinel, waitFor, waitForReplication, type FailoverSentinel } from '../helpers/redis-failover.js';

/** The test provider knows alice and bob: three sessions (browsers) each. */
const LOGINS = ['alice', 'bob', 'alice', 'bob', 'alice', 'bob'];
/** Generous for a slow, shared 2-core machine: the Sentinels alone need about 2 s to promote. */
const MAX_503_WINDOW_MS = 30_000;

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
    const window = report.first503 === undefined ? 0 : report.last503! - report.first503;
    t.diagnostic(`requests ${report.total}: ${report.ok} ok, ${report.unavailable} 503, ${report.failures.length} other; 503 window ${window} ms; slowest request ${report.slowestMs} ms`);
    assert.deepEqual(report.failures, [], 'every answer that was not 200 was a 503');
    assert.deepEqual(report.clearedCookies, [], 'no answer cleared a session cookie');
    assert.ok(window < MAX_503_WINDOW_MS, `503s for ${window} ms`);
    for (const user of users) {
      const response = await fetch(`${stack.publicUrl}/after`, { headers: { cookie: user.cookie, accept: 'text/html' }, redirect: 'manual' });
      assert.equal(response.status, 200, `${user.label} still signed in with the same cookie`);
      await response.arrayBuffer();
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], user.login);
    }
  });
});
