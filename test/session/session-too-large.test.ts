/**
 * A user with thousands of groups: the cookie store cannot carry such a session back on every request, so
 * the callback answers a clear 400 page (what happened, what an administrator can do) and sets no session
 * cookie at all, no partial chunk set either. The same user signs in fine with the Redis store, where the
 * cookie holds only the session's id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import type { IdpUser } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';

const GROUP_COUNT = 5_000;
const GROUPS = Array.from({ length: GROUP_COUNT }, (_, i) => `team-${String(i).padStart(4, '0')}-members`);
const MANY: IdpUser = { sub: 'many', email: 'many@example.com', preferredUsername: 'many', name: 'Many Groups', groups: GROUPS };
const isSessionCookie = (line: string) => /^authgate(_\d+)?=/.test(line);

/** Signs `MANY` in up to the callback, then sends the callback as a browser would; returns its answer. */
async function callbackFor(stack: Stack, browser: BrowserClient, accept = 'text/html') {
  const { callbackUrl } = await browser.login(`${stack.publicUrl}/start-here`, MANY.sub, { stopAtCallback: true });
  const response = await browser.fetch(callbackUrl, { headers: { accept } });
  return { response, body: await response.text(), setCookies: response.headers.getSetCookie() };
}

describe('a user with thousands of groups (cookie store)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    stack.idp.addUser(MANY);
  });
  after(() => stack.close());

  it('gets a clear 400 page naming oidc.groupsFilter and the Redis store, and no session cookie', async () => {
    const browser = new BrowserClient();
    const { response, body, setCookies } = await callbackFor(stack, browser);
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(body, /too many groups/);
    assert.match(body, /browser cookie/);
    assert.match(body, /oidc\.groupsFilter/);
    assert.match(body, /Redis session store/);
    assert.doesNotMatch(body, /Sign in again/, 'no retry link: signing in again would end the same way');
    assert.deepEqual(setCookies.filter(isSessionCookie), [], 'no session cookie or chunk is set');
    assert.ok(!browser.jar.all().some((c) => /^authgate(_\d+)?$/.test(c.name)), 'the browser holds no session cookie');
    const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 401, 'the user is not signed in');
  });

  it('answers an API client with the stable error code', async () => {
    const { response, body, setCookies } = await callbackFor(stack, new BrowserClient(), 'application/json');
    assert.equal(response.status, 400);
    assert.equal((JSON.parse(body) as { error: string }).error, 'AUTHGATE_ERR_SESSION_TOO_LARGE');
    assert.deepEqual(setCookies.filter(isSessionCookie), []);
  });

  it('counts the refused login in authgate_logins_total', async () => {
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(text, /^authgate_logins_total\{outcome="session_too_large",provider="default"\} [1-9]/m);
  });
});

describe('a user with thousands of groups (Redis store)', () => {
  let stack: Stack;
  let redis: StartedRedis;
  before(async () => {
    redis = await startRedis();
    stack = await startStack({
      configure: (tree) => {
        tree.session.store = 'redis';
        tree.session.redis = { url: redis.url };
      },
    });
    stack.idp.addUser(MANY);
  });
  after(async () => {
    await stack.close();
    await redis.close();
  });

  it('signs in: the session keeps all the groups', async () => {
    const browser = new BrowserClient();
    const { response, setCookies } = await callbackFor(stack, browser);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/start-here');
    assert.equal(setCookies.filter(isSessionCookie).length, 1, 'one small session cookie');
    const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 200);
    const body = (await me.json()) as { user: string; groups: string[] };
    assert.equal(body.user, 'many');
    assert.equal(body.groups.length, GROUP_COUNT);
  });
});
