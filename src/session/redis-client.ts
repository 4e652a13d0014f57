/**
 * The Redis connection for the Redis session store (ioredis: standalone, Sentinel and Cluster with one API,
 * TLS, automatic reconnection). Commands fail fast while Redis is unreachable (no offline queue) and give
 * up after `timeout`, so a request gets a 503 instead of waiting; the client keeps reconnecting by itself.
 *
 * URLs: `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS),
 * `redis+sentinel://[:password@]host:26379,host2:26379/masterName[/db][?tls=true]`,
 * `redis+cluster://[:password@]host:6379,host2:6379[?tls=true]`.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

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
  };
  const parsed = new URL(url);
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const tls = parsed.protocol === 'rediss:' || parsed.searchParams.get('tls') === 'true' ? {} : undefined;
  const hosts = parsed.host
    .split(',')
    .filter((h) => h !== '')
    .map((h) => {
      const at = h.lastIndexOf(':');
      return at === -1 ? { host: h, port: 6379 } : { host: h.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(h.slice(at + 1)) };
    });
  const pathParts = parsed.pathname.split('/').filter((p) => p !== '');

  let client: RedisClient;
  if (parsed.protocol === 'redis+sentinel:') {
    const [name = 'mymaster', db] = pathParts;
    client = new Redis({
      ...common,
      sentinels: hosts.map((h) => ({ host: h.host, port: h.port || 26379 })),
      name,
      db: db ? Number(db) : 0,
      password,
      username,
      sentinelPassword: password,
      tls,
      enableTLSForSentinelMode: tls !== undefined,
    });
  } else if (parsed.protocol === 'redis+cluster:') {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      redisOptions: { ...common, password, username, tls },
    };
    client = new Cluster(hosts, options);
  } else {
    const [db] = pathParts;
    client = new Redis({
      ...common,
      host: hosts[0]?.host ?? '127.0.0.1',
      port: hosts[0]?.port ?? 6379,
      db: db ? Number(db) : 0,
      password,
      username,
      tls,
    });
  }

  // Reconnect attempts repeat the same error: log each change of state, not every retry.
  let state: 'starting' | 'up' | 'down' = 'starting';
  client.on('ready', () => {
    state = 'up';
    log.info({ redis: redactedUrl(parsed) }, 'session store connected');
  });
  client.on('error', (err: Error) => {
    if (state === 'down') return;
    state = 'down';
    log.warn({ err, redis: redactedUrl(parsed) }, 'session store unreachable; reconnecting');
  });
  return client;
}

function redactedUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
