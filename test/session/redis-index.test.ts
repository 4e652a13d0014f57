/**
 * The Redis store's back-channel logout indexes (sessions per user and per provider session): each id is
 * scored with its session's absolute end, and ids past theirs leave at the next login, so the index of a
 * user who signs in every day does not grow, and a login costs the same whatever its size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';

describe('Redis session indexes', () => {
  let redis: StartedRedis;
  let stack: Stack;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    stack = await startStack({
      configure: (c) => {
        c.session.store = 'redis';
        c.session.redis = { url: redis.url, timeout: '2s' };
        c.session.absoluteTimeout = '8h';
      },
    });
  });
  after(async () => {
    await stack?.close();
    client?.disconnect();
    await redis?.close();
  });

  it("scores a login's id with its absolute end and drops ids past theirs at the next login", async () => {
    const before = Date.now();
    await stack.signIn('alice');
    const index = 'authgate:sub:alice';
    const [first] = await client.zrange(index, '0', '-1');
    assert.ok(first, 'the login is in the index');
    const score = Number(await client.zscore(index, first));
    assert.ok(score >= before + 8 * 3600_000 && score <= Date.now() + 8 * 3600_000, 'scored with createdAt + absoluteTimeout');
    assert.ok((await client.pttl(index)) > 7 * 3600_000, 'the index lives as long as its newest session');

    // Ids whose sessions ended long ago (as earlier logins leave them).
    for (let i = 0; i < 50; i++) await client.zadd(index, Date.now() - 1000 - i, `ended-${i}`);
    await stack.signIn('alice');
    const members = await client.zrange(index, '0', '-1');
    assert.equal(members.length, 2, 'the two live logins only');
    assert.ok(members.includes(first));
  });
});
