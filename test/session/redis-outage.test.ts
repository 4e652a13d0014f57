/**
 * The Redis store when Redis stops answering: /ready says 503 with sessionStore false, protected requests
 * get 503 (not a login redirect, not 500) within about `session.redis.timeout` (a paused Redis: once the
 * tracked session cache has stopped trusting its copies, two heartbeats at most), and the session cookie is
 * kept, so the same cookie works again once Redis is back. A restarted Redis (no persistence) has lost the
 * sessions: the old cookie is then signed out, never a 500, and a new login works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { watchSessionCache, type SessionCacheWatch } from '../helpers/session-cache-events.js';

const TIMEOUT_MS = 500;
/** How long a request may take when Redis is paused: the command timeout plus generous scheduling slack. */
const ANSWER_WITHIN_MS = TIMEOUT_MS + 1_000;
const API = { accept: 'application/json' };
const PAGE = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

/** A request with the browser's cookies, timed; the body is read so the connection is free again. */
async function timed(browser: BrowserClient, url: string, headers: Record<string, string>): Promise<{ response: Response; body: string; ms: number }> {
  const started = performance.now();
  const response = await browser.fetch(url, { headers });
  const body = await response.text();
  return { response, body, ms: performance.now() - started };
}

/**
 * The first answer that cannot come from the tracked session cache: `paused` was the promise of the cache's
 * report that it stopped serving (it trusts its copies until a heartbeat goes unanswered, redis-tracking.ts),
 * taken before the pause.
 */
async function firstUncached(paused: Promise<unknown>, browser: BrowserClient, url: string, headers: Record<string, string>): Promise<{ response: Response; body: string; ms: number }> {
  await paused;
  return timed(browser, url, headers);
}

/** The promise of the cache's next report that it stopped serving. */
const stopsServing = (watch: SessionCacheWatch) => watch.next('that it stopped serving', (event) => event.kind === 'serving' && !event.serving);

/** Set-Cookie lines of a response that touch the session cookie or one of its chunks. */
function sessionSetCookies(response: Response): string[] {
  return response.headers.getSetCookie().filter((line) => /^authgate(_\d+)?=/.test(line));
}

async function ready(stack: Stack): Promise<{ status: number; body: { ready?: boolean; sessionStore?: boolean } }> {
  const response = await fetch(`${stack.publicUrl}/ready`);
  return { status: response.status, body: (await response.json()) as { ready?: boolean; sessionStore?: boolean } };
}

/** Polls /ready until it answers 200 (the gateway reconnects on its own backoff; there is no event to await). */
async function waitUntilReady(stack: Stack, withinMs = 10_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await ready(stack)).status === 200) return Date.now() - started;
    if (Date.now() - started > withinMs) throw new Error(`/ready did not answer 200 within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits for a log line containing `text` (ioredis reports a lost connection on its first reconnect attempt). */
async function waitForLog(stack: Stack, text: string, withinMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!stack.gateway.logs.some((line) => line.includes(text))) {
    if (Date.now() - started > withinMs) throw new Error(`no log line with "${text}" within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('Redis session store outages', () => {
  let redis: StartedRedis;
  let stack: Stack;
  let watch: SessionCacheWatch;

  before(async () => {
    watch = watchSessionCache();
    redis = await startRedis();
    stack = await startStack({
      configure: (c) => {
        c.session.store = 'redis';
        c.session.redis = { url: redis.url, timeout: `${TIMEOUT_MS}ms` };
      },
    });
  });
  after(async () => {
    watch?.close();
    await stack?.close();
    await redis?.close();
  });

  it('Redis paused (SIGSTOP): /ready and API requests answer 503 in about the timeout, the cookie is kept and works again on resume', async () => {
    const browser = await stack.signIn('alice');
    const cookieBefore = browser.jar.get('authgate')?.value;
    assert.ok(cookieBefore);
    assert.equal((await timed(browser, `${stack.publicUrl}/before`, API)).response.status, 200);

    await watch.whenServing();
    const paused = stopsServing(watch);
    redis.pause();
    try {
      const readiness = await ready(stack);
      assert.equal(readiness.status, 503);
      assert.equal(readiness.body.sessionStore, false);

      const api = await firstUncached(paused, browser, `${stack.publicUrl}/api/data`, API);
      console.log(`redis paused: API request answered ${api.response.status} in ${Math.round(api.ms)} ms`);
      assert.equal(api.response.status, 503, api.body);
      assert.ok(api.ms < ANSWER_WITHIN_MS, `answered in ${Math.round(api.ms)} ms`);
      assert.deepEqual(sessionSetCookies(api.response), [], 'the session cookie is neither cleared nor replaced');
    } finally {
      redis.resume();
    }

    assert.equal(browser.jar.get('authgate')?.value, cookieBefore, 'the browser still holds the same cookie');
    const again = await timed(browser, `${stack.publicUrl}/after`, API);
    assert.equal(again.response.status, 200, again.body);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    assert.equal((await ready(stack)).status, 200);
  });

  it('Redis paused: a browser navigation gets the 503 page (HTML), not a login redirect, and keeps its cookie', async () => {
    const browser = await stack.signIn('alice');
    await watch.whenServing(); // after the first test's pause and resume
    const paused = stopsServing(watch);
    redis.pause();
    let page;
    try {
      page = await firstUncached(paused, browser, `${stack.publicUrl}/page`, PAGE);
    } finally {
      redis.resume();
    }
    assert.equal(page.response.status, 503, 'not a redirect to the provider');
    assert.ok(page.ms < ANSWER_WITHIN_MS, `answered in ${Math.round(page.ms)} ms`);
    assert.deepEqual(sessionSetCookies(page.response), []);
    assert.match(page.response.headers.get('content-type') ?? '', /text\/html/, `the gateway's 503 page, got: ${page.body.slice(0, 200)}`);
  });

  it('Redis stopped: 503 and a log line; after a restart the gateway reconnects, the lost session is signed out, a new login works', async () => {
    const browser = await stack.signIn('bob');
    assert.equal((await timed(browser, `${stack.publicUrl}/before`, API)).response.status, 200);

    await redis.stop();
    const readiness = await ready(stack);
    assert.equal(readiness.status, 503);
    assert.equal(readiness.body.sessionStore, false);
    const api = await timed(browser, `${stack.publicUrl}/api/data`, API);
    console.log(`redis stopped: API request answered ${api.response.status} in ${Math.round(api.ms)} ms`);
    assert.equal(api.response.status, 503, api.body);
    assert.ok(api.ms < ANSWER_WITHIN_MS, `answered in ${Math.round(api.ms)} ms`);
    assert.deepEqual(sessionSetCookies(api.response), []);
    const page = await timed(browser, `${stack.publicUrl}/page`, PAGE);
    assert.equal(page.response.status, 503, 'not a redirect to the provider');
    assert.deepEqual(sessionSetCookies(page.response), []);
    await waitForLog(stack, 'session store unreachable');

    await redis.restart();
    const reconnectMs = await waitUntilReady(stack);
    console.log(`redis restarted: /ready 200 after ${reconnectMs} ms`);

    // The restarted server has no data: the cookie names a session that no longer exists.
    const lostApi = await timed(browser, `${stack.publicUrl}/api/data`, API);
    assert.equal(lostApi.response.status, 401, lostApi.body);
    const lostPage = await browser.fetch(`${stack.publicUrl}/page`, { headers: PAGE });
    await lostPage.body?.cancel();
    assert.equal(lostPage.status, 302);
    assert.match(lostPage.headers.get('location') ?? '', /\/auth\?/, 'to the provider');

    const fresh = await stack.signIn('bob');
    assert.equal((await timed(fresh, `${stack.publicUrl}/after`, API)).response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
  });

  it('a login while Redis is down ends on a 503 page at the callback, not a 500, and sets no session', async () => {
    await redis.stop();
    try {
      const browser = stack.browser();
      const { callbackUrl } = await browser.login(`${stack.publicUrl}/page`, 'alice', { stopAtCallback: true });
      const callback = await browser.fetch(callbackUrl);
      const body = await callback.text();
      assert.equal(callback.status, 503, body.slice(0, 300));
      assert.deepEqual(sessionSetCookies(callback), [], 'no session cookie');
      assert.match(callback.headers.get('content-type') ?? '', /text\/html/, `the gateway's 503 page, got: ${body.slice(0, 200)}`);
    } finally {
      await redis.restart();
    }
    await waitUntilReady(stack);
  });
});
