/**
 * The Redis connection for the Redis session store (ioredis: standalone, Sentinel and Cluster with one API,
 * TLS, automatic reconnection). Commands fail fast while Redis is unreachable (no offline queue) and give
 * up after `timeout`, so a request gets a 503 instead of waiting; the client keeps reconnecting by itself.
 *
 * URL forms: see redis-url.ts.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { parseRedisUrl, type RedisTarget } from '../config/redis-url.js';

/** The part of ioredis the store uses (a Redis or a Cluster). */
export type RedisClient = Redis | Cluster;

/** Connects to Redis as the URL says; logs connection changes once each, never the URL's password. */
export function createRedisClient(url: string, timeoutMs: number, log: Logger): RedisClient {
  const common: RedisOptions = {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2000),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    // The session reads of one event-loop turn are batched by redis-batch.ts instead (one write for all).
    enableAutoPipelining: false,
  };
  const target = parseRedisUrl(url);
  const tls = target.tls ? {} : undefined;
  let client: RedisClient;
  if (target.mode === 'sentinel') {
    client = new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      username: target.username,
      password: target.password,
      sentinelPassword: target.password,
      tls,
      enableTLSForSentinelMode: target.tls,
    });
  } else if (target.mode === 'cluster') {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      // A pipeline of its own must stay within one slot: here ioredis batches per slot (see redis-batch.ts).
      enableAutoPipelining: true,
      clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      redisOptions: { ...common, username: target.username, password: target.password, tls },
    };
    client = new Cluster(target.nodes, options);
  } else {
    client = new Redis({ ...common, host: target.host, port: target.port, db: target.db, username: target.username, password: target.password, tls });
  }
  const where = describeTarget(target);

  // Reconnect attempts repeat the same error: log each change of state, not every retry.
  let state: 'starting' | 'up' | 'down' = 'starting';
  client.on('ready', () => {
    state = 'up';
    log.info({ redis: where }, 'session store connected');
  });
  client.on('error', (err: Error) => {
    if (state === 'down') return;
    state = 'down';
    log.warn({ err, redis: where }, 'session store unreachable; reconnecting');
  });
  return client;
}

/** Where the client connects, for logs: hosts and mode, never credentials. */
function describeTarget(target: RedisTarget): string {
  const list = (hosts: Array<{ host: string; port: number }>) => hosts.map((h) => `${h.host}:${h.port}`).join(',');
  if (target.mode === 'sentinel') return `sentinel ${list(target.sentinels)} master ${target.name}`;
  if (target.mode === 'cluster') return `cluster ${list(target.nodes)}`;
  return `${target.tls ? 'rediss' : 'redis'}://${target.host}:${target.port}/${target.db}`;
}
