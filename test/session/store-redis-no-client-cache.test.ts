/**
 * The shared session-store suite against the Redis store with `clientCache: false`: every request reads its
 * record from Redis (no tracked cache), the setting for a Redis that refuses CLIENT TRACKING or for operators
 * who want no session copies in the gateway's memory. A real redis-server is started for this file.
 */
import { after, before } from 'node:test';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { describeSessionStore } from './store-suite/index.js';

let redis: StartedRedis | undefined;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.close());

describeSessionStore('redis without the client-side cache', {
  shared: true,
  configure(tree) {
    if (!redis) throw new Error('redis-server did not start');
    tree.session.store = 'redis';
    tree.session.redis = { url: redis.url, timeout: '2s', clientCache: false };
  },
  // Each scenario starts from an empty Redis (its gateway has stopped by then).
  teardown: () => redis?.flushAll() ?? Promise.resolve(),
});
