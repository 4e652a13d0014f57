/**
 * The shared session-store suite against the Redis store, with a real redis-server (Debian's package)
 * started on a free port for this file and stopped after it.
 */
import { after, before } from 'node:test';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { describeSessionStore } from './store-suite/index.js';

let redis: StartedRedis | undefined;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.close());

describeSessionStore('redis', {
  shared: true,
  configure(tree) {
    if (!redis) throw new Error('redis-server did not start');
    tree.session.store = 'redis';
    tree.session.redis = { url: redis.url, timeout: '2s' };
  },
  // Each scenario starts from an empty Redis (its gateway has stopped by then).
  teardown: () => redis?.flushAll() ?? Promise.resolve(),
});
