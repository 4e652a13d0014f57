/**
 * The Redis store's tracked cache (`session.redis.clientCache`, on by default) against a real redis-server:
 * a signed-in browser's requests are answered without a Redis read, yet a record deleted or flushed in Redis
 * (a sign-out or a back-channel logout on any replica) signs the browser out on its very next request, and
 * after Redis restarts the cache is trusted again only once tracking works again. With `clientCache: false`
 * every request reads Redis. The race a cache must not lose (a read answered while its key was being
 * written) is checked on the cache itself, on a real connection. Every wait for Redis's report of a change
 * awaits the cache's own report of it (session-cache-events.ts), never a timer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { watchSessionCache, type SessionCacheWatch } from '../helpers/session-cache-events.js';
import { createTrackedCache } from '../../src/session/redis-tracking.js';

const API = { accept: 'application/json' };

/** How many HGETs (the store's per-request read) Redis has answered so far. */
async function hgetCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(/cmdstat_hget:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** The session record keys in Redis. */
async function recordKeys(admin: Redis): Promise<string[]> {
  return (await admin.keys('authgate:{*}:s')).sort();
}

async function status(browser: BrowserClient, url: string): Promise<number> {
  const response = await browser.fetch(url, { headers: API });
  await response.body?.cancel();
  return response.status;
}

/** A signed-in browser whose requests are answered from the cache, and the key of its record. */
interface CachedBrowser {
  browser: BrowserClient;
  key: string;
}

/**
 * Signs in once the cache serves, then requests until a request reads nothing from Redis (the first ones
 * fill the cache; a write of the record, such as the idle clock's, empties it again).
 */
async function signInCached(fixture: Fixture, login: string): Promise<CachedBrowser> {
  await fixture.watch.whenServing();
  const before = new Set(await recordKeys(fixture.admin));
  const browser = await fixture.stack.signIn(login);
  const key = (await recordKeys(fixture.admin)).find((k) => !before.has(k));
  assert.ok(key, 'the sign-in stored a record');
  for (let attempt = 0; attempt < 20; attempt++) {
    const reads = await hgetCalls(fixture.admin);
    assert.equal(await status(browser, `${fixture.stack.publicUrl}/warm`), 200);
    if ((await hgetCalls(fixture.admin)) === reads) return { browser, key };
  }
  throw new Error('requests kept reading Redis: the cache never served');
}

/** A redis-server, an admin connection to it and a gateway using it, started before and closed after a suite. */
interface Fixture {
  redis: StartedRedis;
  admin: Redis;
  stack: Stack;
  /** The gateway cache's reports, watched from before the gateway started. */
  watch: SessionCacheWatch;
}

/** Registers the suite's before/after hooks; `redisConfig` gets the server and answers `session.redis`. */
function redisFixture(redisConfig: (redis: StartedRedis, admin: Redis) => Promise<Record<string, unknown>>): Fixture {
  const fixture = {} as Fixture;
  before(async () => {
    fixture.redis = await startRedis();
    fixture.admin = new Redis(fixture.redis.url, { maxRetriesPerRequest: 1 });
    fixture.admin.on('error', () => undefined); // the restart test takes the server away on purpose
    fixture.watch = watchSessionCache();
    const session = await redisConfig(fixture.redis, fixture.admin);
    fixture.stack = await startStack({
      configure: (c) => {
        c.session.store = 'redis';
        c.session.redis = session;
      },
    });
  });
  after(async () => {
    await fixture.stack?.close();
    fixture.watch?.close();
    fixture.admin?.disconnect();
    await fixture.redis?.close();
  });
  return fixture;
}

describe('Redis store: the tracked session cache', () => {
  const fixture = redisFixture((redis) => Promise.resolve({ url: redis.url, timeout: '500ms' }));

  it('a signed-in browser: 50 requests reach the upstream with its identity and Redis answers no read for them', async () => {
    const { browser } = await signInCached(fixture, 'alice');
    const before = await hgetCalls(fixture.admin);
    for (let i = 0; i < 50; i++) assert.equal(await status(browser, `${fixture.stack.publicUrl}/cached/${i}`), 200);
    assert.equal((await hgetCalls(fixture.admin)) - before, 0, 'no HGET for cached requests');
    assert.equal(fixture.stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    assert.equal(fixture.stack.upstream.last()?.url, '/cached/49');
  });

  it('a record deleted in Redis (a sign-out on another replica) signs the browser out on its next request', async () => {
    const { browser, key } = await signInCached(fixture, 'bob');
    const reported = fixture.watch.invalidated(key);
    assert.equal(await fixture.admin.del(key), 1);
    await reported;
    assert.equal(await status(browser, `${fixture.stack.publicUrl}/after-delete`), 401);
  });

  it('a flushed database signs every browser out on its next request', async () => {
    const { browser: first } = await signInCached(fixture, 'alice');
    const { browser: second } = await signInCached(fixture, 'bob');
    const reported = fixture.watch.flushed();
    await fixture.admin.flushall();
    await reported;
    assert.equal(await status(first, `${fixture.stack.publicUrl}/after-flush`), 401);
    assert.equal(await status(second, `${fixture.stack.publicUrl}/after-flush`), 401);
  });

  it('Redis paused: the cache stops serving within two heartbeats (then 503, cookie kept), and serves again on resume', async () => {
    const { browser } = await signInCached(fixture, 'alice');
    const cookieBefore = browser.jar.get('authgate')?.value;
    const stopped = fixture.watch.next('that it stopped serving', (event) => event.kind === 'serving' && !event.serving);
    fixture.redis.pause();
    try {
      const started = Date.now();
      // Right after the pause the record is still trusted: nothing Redis could report has been missed yet.
      assert.equal(await status(browser, `${fixture.stack.publicUrl}/paused`), 200);
      await stopped;
      const servedMs = Date.now() - started;
      console.log(`redis paused: the cache stopped serving after ${servedMs} ms`);
      assert.ok(servedMs < 3_000, `the cache served for ${servedMs} ms`);
      assert.equal(await status(browser, `${fixture.stack.publicUrl}/paused`), 503, 'the next request reads the paused Redis');
    } finally {
      fixture.redis.resume();
    }
    assert.equal(browser.jar.get('authgate')?.value, cookieBefore, 'the 503s neither cleared nor replaced the cookie');
    await fixture.watch.whenServing();
    assert.equal(await status(browser, `${fixture.stack.publicUrl}/resumed`), 200, 'the same cookie works again');
  });

  it('after a Redis restart: the old session is gone (401), and a new one is cached and revocable again', async () => {
    const { browser: old } = await signInCached(fixture, 'bob');
    // Serving again only once tracking was proven on the new connections.
    const servingAgain = fixture.watch.next('serving again after the restart', (event) => event.kind === 'serving' && event.serving);
    await fixture.redis.restart();
    await servingAgain;
    assert.equal((await fetch(`${fixture.stack.publicUrl}/ready`)).status, 200);
    assert.equal(await status(old, `${fixture.stack.publicUrl}/after-restart`), 401);

    const { browser: fresh, key } = await signInCached(fixture, 'bob');
    const reported = fixture.watch.invalidated(key);
    assert.equal(await fixture.admin.del(key), 1);
    await reported;
    assert.equal(await status(fresh, `${fixture.stack.publicUrl}/after-delete`), 401);
  });
});

describe('Redis store with clientCache: false', () => {
  const fixture = redisFixture((redis) => Promise.resolve({ url: redis.url, clientCache: false }));

  it('every request reads the record from Redis', async () => {
    const browser = await fixture.stack.signIn('alice');
    const before = await hgetCalls(fixture.admin);
    for (let i = 0; i < 20; i++) assert.equal(await status(browser, `${fixture.stack.publicUrl}/uncached/${i}`), 200);
    assert.equal((await hgetCalls(fixture.admin)) - before, 20);
  });
});

describe('Redis store whose ACL user may not use CLIENT', () => {
  const fixture = redisFixture(async (redis, admin) => {
    await admin.acl('SETUSER', 'limited', 'on', '>limited-password', '~*', '&*', '+@all', '-client');
    return { url: `redis://limited:limited-password@127.0.0.1:${redis.port}` };
  });

  it('logs one warning and reads Redis on every request; sessions work as without the cache', async () => {
    const browser = await fixture.stack.signIn('alice');
    const before = await hgetCalls(fixture.admin);
    for (let i = 0; i < 10; i++) assert.equal(await status(browser, `${fixture.stack.publicUrl}/refused/${i}`), 200);
    assert.equal((await hgetCalls(fixture.admin)) - before, 10);
    const warnings = fixture.stack.gateway.logs.filter((line) => line.includes('Redis refused client tracking'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });
});

describe('the tracked cache itself, on a real connection', () => {
  let redis: StartedRedis;
  let client: Redis;
  let writer: Redis;
  let watch: SessionCacheWatch;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    writer = new Redis(redis.url);
    watch = watchSessionCache();
  });
  after(async () => {
    watch?.close();
    client?.disconnect();
    writer?.disconnect();
    await redis?.close();
  });

  it('a read answered before a write of its key, whose fill comes after the invalidation, is not cached', async () => {
    // Tracking is switched on and proven asynchronously, so its report always comes after creation.
    const proven = watch.next('tracking proven', (event) => event.kind === 'serving' && event.serving);
    const cache = createTrackedCache<{ value: string }>(client, { max: 10, log: pino({ level: 'silent' }) });
    try {
      assert.equal((await proven).cache, cache);
      assert.equal(cache.active, true);
      await writer.set('k', 'old');

      const ticket = cache.beginRead('k');
      assert.equal(await client.get('k'), 'old'); // tracked from here on
      const reported = watch.invalidated('k');
      await writer.set('k', 'new');
      await reported; // the cache has acted on the report: the fill below comes after it
      cache.fill('k', ticket, { value: 'old' });
      assert.equal(cache.get('k'), undefined, 'the stale answer was not cached');

      const fresh = cache.beginRead('k');
      assert.equal(await client.get('k'), 'new');
      cache.fill('k', fresh, { value: 'new' });
      assert.deepEqual(cache.get('k'), { value: 'new' });
      const deleted = watch.invalidated('k');
      await writer.del('k');
      await deleted;
      assert.equal(cache.get('k'), undefined);
    } finally {
      await cache.close();
    }
  });
});
