/**
 * session.redis.url, parsed (pure, no connection): `redis://[user:password@]host:port[/db]`, `rediss://…`
 * (TLS), `redis+sentinel://[:password@]host:26379,host2:26379/masterName[/db][?tls=true]`,
 * `redis+cluster://[:password@]host:6379,host2:6379[?tls=true]`.
 */

/** What a session.redis.url says, as connection settings (pure: no connection is made). */
export type RedisTarget =
  | { mode: 'standalone'; host: string; port: number; db: number; username?: string; password?: string; tls: boolean }
  | { mode: 'sentinel'; sentinels: Array<{ host: string; port: number }>; name: string; db: number; username?: string; password?: string; tls: boolean }
  | { mode: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

/**
 * Parses a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL. By hand: WHATWG URL refuses
 * the comma-separated host lists Sentinel and Cluster URLs carry.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const m = /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(url);
  if (!m) throw new Error('not a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');
  const [, scheme, userinfo, hostList = '', path = '', query = ''] = m;
  const colon = userinfo === undefined ? -1 : userinfo.indexOf(':');
  const username = userinfo === undefined ? '' : decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = userinfo === undefined || colon === -1 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
  const credentials = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  const tls = scheme === 'rediss' || new URLSearchParams(query).get('tls') === 'true';
  const defaultPort = scheme === 'redis+sentinel' ? 26379 : 6379;
  const hosts = hostList
    .split(',')
    .filter((h) => h !== '')
    .map((h) => {
      const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
      if (!hp) throw new Error(`bad host "${h}"`);
      return { host: (hp[1] ?? h).replace(/^\[|\]$/g, ''), port: hp[2] ? Number(hp[2]) : defaultPort };
    });
  const [first, second] = path.split('/').filter((p) => p !== '');
  if (scheme === 'redis+sentinel') {
    return { mode: 'sentinel', sentinels: hosts, name: first ?? 'mymaster', db: second ? Number(second) : 0, ...credentials, tls };
  }
  if (scheme === 'redis+cluster') return { mode: 'cluster', nodes: hosts, ...credentials, tls };
  const host = hosts[0] ?? { host: '127.0.0.1', port: 6379 };
  return { mode: 'standalone', host: host.host, port: host.port, db: first ? Number(first) : 0, ...credentials, tls };
}
