/**
 * Failover drill in a Redis Cluster of three masters with a replica each: signed-in users keep sending
 * requests while the master holding most of their sessions is killed (SIGKILL) and the cluster promotes its
 * replica. Nobody is signed out, every failed answer is a 503, and the 503s stop within a bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCliStack, type CliStack } from '../helpers/gateway.js';
import { assertNobodySignedOut, signInUsers, startLoad, type LoadUser } from '../helpers/failover-load.js';
import { clusterNodes, redisCli, startFailoverCluster, waitFor, waitForReplication, type FailoverCluster, type RedisProcess } from '../helpers/redis-failover.js';

/** The test provider knows alice and bob: four sessions (browsers) each, spread over the slots. */
const LOGINS = ['alice', 'bob', 'alice', 'bob', 'alice', 'bob', 'alice', 'bob'];

describe('Cluster master failover drill', () => {
  let redis: FailoverCluster;
  let stack: CliStack;
  let users: LoadUser[];
  let victim: RedisProcess;
  let replica: RedisProcess;
  let sessionsOnVictim = 0;
  before(async () => {
    redis = await startFailoverCluster();
    stack = await startCliStack({
      configure: (c) => {
        c.session.store = 'redis';
        c.session.redis = { url: redis.url };
      },
    });
    await waitFor('the gateway to be ready', async () => ((await fetch(`${stack.publicUrl}/ready`)).status === 200 ? true : undefined));
    users = await signInUsers(stack.publicUrl, LOGINS);
    // The victim is the master holding the most session records; its replica must have them before it dies.
    const view = await clusterNodes(redis.nodes[0].port);
    for (const master of view.filter((n) => n.master)) {
      const keys = (await redisCli(master.port, '--scan', '--pattern', 'authgate:{*}:s')).split('\n').filter((k) => k !== '');
      if (keys.length > sessionsOnVictim) {
        sessionsOnVictim = keys.length;
        victim = redis.nodes.find((n) => n.port === master.port)!;
        replica = redis.nodes.find((n) => n.port === view.find((r) => r.masterId === master.id)?.port)!;
      }
    }
    assert.ok(victim && replica, 'a master holds sessions and has a replica');
    await waitForReplication(victim.port, replica.port);
  });
  after(async () => {
    await stack?.close();
    await redis?.close();
  });

  it('keeps every user signed in while a master is killed and its replica promoted; only 503s meanwhile', async (t) => {
    const survivor = redis.nodes.find((n) => n !== victim && n !== replica)!;
    const load = startLoad({ url: `${stack.publicUrl}/drill`, users, concurrency: 6, cookiePrefix: 'authgate' });
    let report;
    try {
      await load.streak(50, 20_000); // the load works before anything breaks
      const killedAt = Date.now();
      await victim.kill();
      await waitFor('the cluster to promote the replica', async () => {
        const view = await clusterNodes(survivor.port);
        const promoted = view.find((n) => n.port === replica.port);
        return promoted?.master && !promoted.failed && (await redisCli(survivor.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? true : undefined;
      }, 30_000);
      t.diagnostic(`${sessionsOnVictim} of ${users.length} sessions on the killed master; promotion seen ${Date.now() - killedAt} ms after the kill`);
      await load.streak(200, 30_000);
      report = await load.stop();
    } finally {
      report ??= await load.stop();
    }
    await assertNobodySignedOut(t, report, users, stack);
  });
});
