/**
 * Where the demo keeps sessions: in Redis when redis-server is installed (the demo starts its own, on a free
 * port, and the admin API can list sessions), else in the cookie, so `npm ci && npm run demo` needs nothing
 * but Node.js. DEMO_SESSION_STORE=cookie skips Redis; DEMO_SESSION_STORE=redis with DEMO_REDIS_URL uses yours.
 */
import { redisAvailable, startRedis } from '../test/helpers/redis.js';

/** The Redis server the demo started, if any, and the DEMO_* variables config/demo.yaml reads for the store. */
export interface DemoSessionStore {
  /** The URL of the Redis server the demo started (not one the user named), else undefined. */
  startedRedisUrl: string | undefined;
  env: Record<string, string>;
  /** Stops the Redis server the demo started; nothing otherwise. */
  close(): Promise<void>;
}

/** Starts redis-server when the environment leaves the choice to the demo and it is installed. */
export async function startSessionStore(env: Record<string, string | undefined>): Promise<DemoSessionStore> {
  const nothing = async () => undefined;
  // A choice made in the environment is config/demo.yaml's to read (and to refuse when it is not a store).
  if (env.DEMO_SESSION_STORE) return { startedRedisUrl: undefined, env: {}, close: nothing };
  if (!redisAvailable()) return { startedRedisUrl: undefined, env: { DEMO_SESSION_STORE: 'cookie' }, close: nothing };
  const redis = await startRedis();
  return {
    startedRedisUrl: redis.url,
    env: { DEMO_SESSION_STORE: 'redis', DEMO_REDIS_URL: redis.url },
    close: () => redis.close(),
  };
}
