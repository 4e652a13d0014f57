/**
 * The Redis store's tracked cache (`session.redis.clientCache`, on by default) against a real redis-server:
 * a signed-in browser's requests are answered without a Redis read, yet a record deleted or flushed in Redis
 * (a sign-out or a back-channel logout on any replica) signs the browser out on its very next request, and
 * after Redis restarts the cache is trusted again only once tracking works again. With `clientCache: false`
 * every request reads Redis. The race a cache must not lose (a read answered while its key was being
 * written) is checked on the cache itself, on a real connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
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

/** Polls until `check` holds (the gateway reconnects and re-proves tracking on its own schedule). */
async function waitFor(what: string, check: () => Promise<boolean>, withinMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(50);
  }
}

/**
 * Lets Redis's report of a change reach the gateway. Redis queues it for the gateway's invalidation
 * connection while it runs the command, but writes the command's own reply first; on a busy two-core machine
 * it can be descheduled between the two writes, and this process (test and gateway in one) could send its
 * next request before the report arrives. A cache that is never told stays wrong far longer than this.
 */
const reportDelivered = () => sleep(50);

/** Signs in, then keeps requesting until requests stop reading Redis (the first ones fill the cache). */
async function signInCached(stack: Stack, admin: Redis, login: string): Promise<BrowserClient> {
  const browser = await stack.signIn(login);
  await waitFor('requests answered from the cache', async () => {
    const before = await hgetCalls(admin);
    assert.equal(await status(browser, `${stack.publicUrl}/warm`), 200);
    return (await hgetCalls(admin)) === before;
  });
  return browser;
}

/** A redis-server, an admin connection to it and a gateway using it, started before and closed after a suite. */
interface Fixture {
  redis: StartedRedis;
  admin: Redis;
  stack: Stack;
}

/** Registers the suite's before/after hooks; `redisConfig` gets the server and answers `session.redis`. */
function redisFixture(redisConfig: (redis: StartedRedis, admin: Redis) => Promise<Record<string, unknown>>): Fixture {
  const fixture = {} as Fixture;
  before(async () => {
    fixture.redis = await startRedis();
    fixture.admin = new Redis(fixture.redis.url, { maxRetriesPerRequest: 1 });
    fixture.admin.on('error', () => undefined); // the restart test takes the server away on purpose
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
    fixture.admin?.disconnect();
    await fixture.redis?.close();
  });
  return fixture;
}

describe('Redis store: the tracked session cache', () => {
  const fixture = redisFixture((redis) => Promise.resolve({ url: redis.url, timeout: '500ms' }));

  it('a signed-in browser: 50 requests reach the upstream with its identity and Redis answers no read for them', async () => {
    const browser = await signInCached(fixture.stack, fixture.admin, 'alice');
    const before = await hgetCalls(fixture.admin);
    for (let i = 0; i < 50; i++) assert.equal(await status(browser, `${fixture.stack.publicUrl}/cached/${i}`), 200);
    assert.equal((await hgetCalls(fixture.admin)) - before, 0, 'no HGET for cached requests');
    assert.equal(fixture.stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    assert.equal(fixture.stack.upstream.last()?.url, '/cached/49');
  });

  it('a record deleted in Redis (a sign-out on another replica) signs the browser out on its next request', async () => {
    const browser = await signInCached(fixture.stack, fixture.admin, 'bob');
    const keys = await recordKeys(fixture.admin);
    assert.ok(keys.length > 0);
    assert.equal(await fixture.admin.del(...keys), keys.length);
    await reportDelivered();
    assert.equal(await status(browser, `${fixture.stack.publicUrl}/after-delete`), 401);
  });

  it('a flushed database signs every browser out on its next request', async () => {
    const first = await signInCached(fixture.stack, fixture.admin, 'alice');
    const second = await signInCached(fixture.stack, fixture.admin, 'bob');
    await fixture.admin.flushall();
    await reportDelivered();
    assert.equal(await status(first, `${fixture.stack.publicUrl}/after-flush`), 401);
    assert.equal(await status(second, `${fixture.stack.publicUrl}/after-flush`), 401);
  });

  it('Redis paused: the cache stops serving within two heartbeats (then 503, cookie kept), and serves again on resume', async () => {
    const browser = await signInCached(fixture.stack, fixture.admin, 'alice');
    const cookieBefore = browser.jar.get('authgate')?.value;
    fixture.redis.pause();
    const answers: number[] = [];
    try {
      const started = Date.now();
      // Right after the pause the record is still trusted: nothing Redis could report has been missed yet.
      answers.push(await status(browser, `${fixture.stack.publicUrl}/paused`));
      while (answers.at(-1) === 200 && Date.now() - started < 5_000) {
        await sleep(100);
        answers.push(await status(browser, `${fixture.stack.publicUrl}/paused`));
      }
      const servedMs = Date.now() - started;
      console.log(`redis paused: served from the cache for ${servedMs} ms, then ${answers.at(-1)}`);
      assert.equal(answers[0], 200);
      assert.equal(answers.at(-1), 503, `answers: ${answers.join(',')}`);
      assert.ok(servedMs < 3_000, `the cache served for ${servedMs} ms`);
    } finally {
      fixture.redis.resume();
    }
    assert.equal(browser.jar.get('authgate')?.value, cookieBefore, 'the 503s neither cleared nor replaced the cookie');
    await waitFor('the same cookie works again', async () => (await status(browser, `${fixture.stack.publicUrl}/resumed`)) === 200);
  });

  it('after a Redis restart: the old session is gone (401), and a new one is cached and revocable again', async () => {
    const old = await signInCached(fixture.stack, fixture.admin, 'bob');
    await fixture.redis.restart();
    await waitFor('/ready', async () => (await fetch(`${fixture.stack.publicUrl}/ready`)).status === 200);
    assert.equal(await status(old, `${fixture.stack.publicUrl}/after-restart`), 401);

    const fresh = await signInCached(fixture.stack, fixture.admin, 'bob');
    const keys = await recordKeys(fixture.admin);
    assert.equal(await fixture.admin.del(...keys), keys.length);
    await reportDelivered();
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

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    writer = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    writer?.disconnect();
    await redis?.close();
  });

  it('a read answered before a write of its key, whose fill comes after the invalidation, is not cached', async () => {
    const cache = createTrackedCache<{ value: string }>(client, { max: 10, log: pino({ level: 'silent' }) });
    try {
      await waitFor('tracking proven', () => Promise.resolve(cache.active));
      await writer.set('k', 'old');

      // A marker key, read and cached: Redis reports changes on one connection in order, so once the
      // marker's invalidation has been processed, that of k (written before it) has been too.
      const markerTicket = cache.beginRead('marker');
      await client.get('marker');
      cache.fill('marker', markerTicket, { value: 'm' });
      assert.deepEqual(cache.get('marker'), { value: 'm' });

      const ticket = cache.beginRead('k');
      assert.equal(await client.get('k'), 'old'); // tracked from here on
      await writer.set('k', 'new');
      await writer.set('marker', 'changed');
      await waitFor('the invalidations processed', () => Promise.resolve(cache.get('marker') === undefined));
      cache.fill('k', ticket, { value: 'old' });
      assert.equal(cache.get('k'), undefined, 'the stale answer was not cached');

      const fresh = cache.beginRead('k');
      assert.equal(await client.get('k'), 'new');
      cache.fill('k', fresh, { value: 'new' });
      assert.deepEqual(cache.get('k'), { value: 'new' });
      await writer.del('k');
      await waitFor('the deletion reported', () => Promise.resolve(cache.get('k') === undefined));
    } finally {
      await cache.close();
    }
  });
});
