/**
 * The shared session-store suite against the Redis store through a real three-master Redis Cluster
 * (`redis+cluster://` URL; ioredis' Cluster client, auto-pipelining per slot, no tracked cache). The
 * Cluster is started once for this file and emptied after each scenario.
 */
import { after, before } from 'node:test';
import { startCluster, type StartedCluster } from '../helpers/redis-topologies.js';
import { describeSessionStore } from './store-suite/index.js';

let cluster: StartedCluster | undefined;
before(async () => {
  cluster = await startCluster();
});
after(() => cluster?.close());

describeSessionStore('redis cluster', {
  shared: true,
  configure(tree) {
    if (!cluster) throw new Error('the Redis Cluster did not start');
    tree.session.store = 'redis';
    tree.session.redis = { url: cluster.url, timeout: '2s' };
  },
  // Each scenario starts from an empty Cluster (its gateway has stopped by then).
  teardown: () => cluster?.flushAll() ?? Promise.resolve(),
});
