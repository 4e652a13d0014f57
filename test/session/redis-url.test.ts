/**
 * session.redis.url forms: standalone, TLS, Sentinel and Cluster, with credentials and databases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRedisUrl } from '../../src/config/redis-url.js';

describe('session.redis.url', () => {
  const cases: Array<[string, ReturnType<typeof parseRedisUrl>]> = [
    ['redis://127.0.0.1:6379', { mode: 'standalone', host: '127.0.0.1', port: 6379, db: 0, tls: false }],
    ['redis://redis.internal', { mode: 'standalone', host: 'redis.internal', port: 6379, db: 0, tls: false }],
    ['redis://:s%40cret@redis:6380/3', { mode: 'standalone', host: 'redis', port: 6380, db: 3, password: 's@cret', tls: false }],
    ['redis://gw:pw@redis:6379', { mode: 'standalone', host: 'redis', port: 6379, db: 0, username: 'gw', password: 'pw', tls: false }],
    ['rediss://redis.example.com:6380', { mode: 'standalone', host: 'redis.example.com', port: 6380, db: 0, tls: true }],
    ['redis://[::1]:6379', { mode: 'standalone', host: '::1', port: 6379, db: 0, tls: false }],
    [
      'redis+sentinel://:pw@s1:26379,s2:26380,s3/mymaster/2',
      {
        mode: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: 's3', port: 26379 },
        ],
        name: 'mymaster',
        db: 2,
        password: 'pw',
        tls: false,
      },
    ],
    ['redis+sentinel://s1:26379/cache?tls=true', { mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'cache', db: 0, tls: true }],
    [
      'redis+cluster://n1:7000,n2:7001?tls=true',
      {
        mode: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
        ],
        tls: true,
      },
    ],
  ];
  for (const [url, expected] of cases) {
    it(`reads ${url}`, () => {
      assert.deepEqual(parseRedisUrl(url), expected);
    });
  }
});
