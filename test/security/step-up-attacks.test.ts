/**
 * Step-up where it can go wrong: a provider that keeps answering a weaker acr (a 401 page with a way to try
 * again, no redirect loop, the session unchanged), another user coming back from the step-up login (refused,
 * the old session kept), sessions without acr or auth_time (from before step-up: they meet no rule), bearer
 * tokens judged by their own acr and auth_time (RFC 9470), forward-auth and the nginx recipe's
 * /oauth2/start, and a refresh that keeps what the login proved. Never a 403.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import { createTestClock } from '../helpers/test-clock.js';
import { forge, now, withBearers } from '../routes/bearer-fixtures.js';
import {
  ACR_MFA,
  ACR_PASSWORD,
  idTokenClaims,
  locationOf,
  MFA_CHALLENGE,
  RECENT_CHALLENGE,
  RECENT_SECONDS,
  sessionOf,
  startStepUpStack,
  stepUps,
} from '../login/step-up-fixtures.js';

const JSON_ACCEPT = { accept: 'application/json' };

describe('step-up refused at the callback', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack();
  });
  after(() => stack.close());

  it('a provider that answers a weaker acr gets a 401 page with "try again", not a redirect loop, and the session is kept', async () => {
    const alice = await stack.signIn('alice', '/');
    const before = await sessionOf(stack, alice);
    const asked = stack.idp.authorizationRequests.length;
    const refused = await stepUps(stack, 'refused');
    // No setLoginAcr: the provider prompts (acr_values unmet), then answers the weaker urn:example:pwd.
    const result = await alice.login(`${stack.publicUrl}/mfa/secret`, 'alice');
    assert.equal(result.response?.status, 401);
    assert.equal(stack.idp.stepUp.logins.at(-1)?.acr, ACR_PASSWORD);
    assert.equal(stack.idp.authorizationRequests.length, asked + 1, 'one trip to the provider, no loop');
    assert.match(result.response?.headers.get('www-authenticate') ?? '', /error="insufficient_user_authentication"/);
    const html = await result.response.text();
    assert.match(html, /A stronger sign-in is needed/);
    const retry = /href="([^"]*oauth2\/start[^"]*)"/.exec(html)?.[1]?.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&');
    assert.equal(retry, `/oauth2/start?rd=${encodeURIComponent('/mfa/secret')}`, 'the page offers to try again');
    assert.equal(await stepUps(stack, 'refused'), refused + 1);

    const kept = await sessionOf(stack, alice);
    assert.equal(kept?.id, before?.id, 'the session is unchanged');
    assert.equal(kept?.acr, undefined);
    assert.equal((await alice.fetch(`${stack.publicUrl}/`)).status, 200);

    // Trying again is the user's click: it starts one more step-up login, which can now succeed.
    const again = await alice.fetch(new URL(retry, stack.publicUrl));
    assert.equal(again.status, 302);
    assert.equal(locationOf(again).searchParams.get('acr_values'), ACR_MFA);
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    const done = await alice.login(locationOf(again), 'alice');
    assert.equal(done.response?.status, 200);
    assert.equal(done.visited.at(-1), `${stack.publicUrl}/mfa/secret`);
  });

  it('a login older than max_age at the callback is refused the same way', async () => {
    stack.idp.stepUp.setLoginAge(RECENT_SECONDS + 200);
    const alice = await stack.signIn('alice', '/');
    stack.idp.stepUp.setLoginAge(RECENT_SECONDS + 200);
    // The provider's own max_age check skips a login that just happened: the gateway's check catches it.
    const result = await alice.login(`${stack.publicUrl}/recent/x`, 'alice');
    assert.equal(result.response?.status, 401);
    assert.match(await result.response.text(), /A stronger sign-in is needed/);
  });

  it('another user at the step-up login is refused with a 401 page, and the old session is kept', async () => {
    const alice = await stack.signIn('alice', '/');
    const before = await sessionOf(stack, alice);
    const otherUser = await stepUps(stack, 'other_user');
    // The provider forgets alice (a real browser would pass its account-switch page), and bob signs in.
    for (const name of ['_session', '_session.sig']) alice.jar.setCookie(`${name}=; Max-Age=0; Path=/`, stack.idp.issuer);
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    const result = await alice.login(`${stack.publicUrl}/mfa/secret`, 'bob');
    assert.equal(stack.idp.stepUp.logins.at(-1)?.accountId, 'bob');
    assert.equal(result.response?.status, 401);
    assert.match(await result.response.text(), /Signed in as someone else/);
    assert.equal(await stepUps(stack, 'other_user'), otherUser + 1);
    const kept = await sessionOf(stack, alice);
    assert.equal(kept?.id, before?.id);
    assert.equal(kept?.identity.sub, 'alice');
    assert.equal((await alice.fetch(`${stack.publicUrl}/`)).status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
  });
});

describe('a WebSocket upgrade that falls short', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack();
  });
  after(() => stack.close());

  it('gets the 401 challenge, not a login redirect it could not follow', async () => {
    const alice = await stack.signIn('alice', '/');
    const url = new URL('/mfa/socket', stack.publicUrl);
    const status = await new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
      const req = httpRequest(url, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', cookie: alice.jar.cookieHeader(url) ?? '', accept: 'text/html' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] });
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error('the upgrade went through'));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(status, { status: 401, challenge: MFA_CHALLENGE });
  });
});

describe('sessions that do not say acr or auth_time', () => {
  let stack: Stack;
  before(async () => {
    // Without require_auth_time and without acr_values, the ID token has neither: a session from before step-up.
    stack = await startStepUpStack({ requireAuthTime: false });
  });
  after(() => stack.close());

  it('meet no rule: each step-up route asks again, a plain route does not', async () => {
    const alice = await stack.signIn('alice', '/');
    const session = await sessionOf(stack, alice);
    assert.equal(session?.acr, undefined);
    assert.equal(session?.authAt, undefined);
    assert.equal(idTokenClaims(session).auth_time, undefined);
    assert.equal((await alice.fetch(`${stack.publicUrl}/plain`)).status, 200);
    for (const [path, challenge] of [['/mfa/x', MFA_CHALLENGE], ['/recent/x', RECENT_CHALLENGE]] as const) {
      const api = await alice.fetch(`${stack.publicUrl}${path}`, { headers: JSON_ACCEPT });
      assert.equal(api.status, 401, path);
      assert.equal(api.headers.get('www-authenticate'), challenge);
      await api.body?.cancel();
      assert.equal((await alice.fetch(`${stack.publicUrl}${path}`)).status, 302, path);
    }
  });
});

describe('step-up for bearer tokens and forward-auth', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack({ configure: withBearers() });
  });
  after(() => stack.close());

  const call = (path: string, token: string) => fetch(`${stack.publicUrl}${path}`, { headers: { ...JSON_ACCEPT, authorization: `Bearer ${token}` } });

  it('a bearer token without acr or auth_time gets the challenge, even from a browser (it cannot be sent anywhere)', async () => {
    const token = await forge(stack);
    assert.equal((await call('/plain', token)).status, 200);
    const answer = await call('/mfa/x', token);
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get('www-authenticate'), MFA_CHALLENGE);
    const navigation = await fetch(`${stack.publicUrl}/mfa/x`, { headers: { accept: 'text/html', authorization: `Bearer ${token}` }, redirect: 'manual' });
    assert.equal(navigation.status, 401);
    assert.equal((await call('/recent/x', token)).headers.get('www-authenticate'), RECENT_CHALLENGE);
  });

  it('a bearer token\'s own acr and auth_time claims are judged (RFC 9470)', async () => {
    assert.equal((await call('/mfa/x', await forge(stack, { acr: ACR_MFA }))).status, 200);
    assert.equal((await call('/mfa/x', await forge(stack, { acr: ACR_PASSWORD }))).status, 401);
    assert.equal((await call('/recent/x', await forge(stack, { auth_time: now() - 10 }))).status, 200);
    assert.equal((await call('/recent/x', await forge(stack, { auth_time: now() - RECENT_SECONDS - 200 }))).status, 401);
    assert.equal((await call('/recent/x', await forge(stack, { auth_time: String(now()) }))).status, 401, 'auth_time must be a number');
    assert.equal((await call('/both/x', await forge(stack, { acr: ACR_MFA, auth_time: now() }))).status, 200);
  });

  it('forward-auth answers 401 with the challenge, and the nginx recipe\'s /oauth2/start upgrades the session', async () => {
    const alice = await stack.signIn('alice', '/');
    const check = (uri: string, headers: Record<string, string> = {}) => alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { ...JSON_ACCEPT, 'x-forwarded-uri': uri, ...headers } });
    assert.equal((await check('/plain')).status, 202);
    const denied = await check('/mfa/page');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), MFA_CHALLENGE);
    const redirect = await alice.fetch(`${stack.publicUrl}/oauth2/auth?redirect=1`, { headers: { accept: 'text/html', 'x-forwarded-uri': '/mfa/page' } });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), `${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent('/mfa/page')}`);

    // nginx: error_page 401 = /oauth2/start?rd=$request_uri.
    const before = await sessionOf(stack, alice);
    const start = await alice.fetch(`${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent('/mfa/page')}`);
    assert.equal(start.status, 302);
    assert.equal(locationOf(start).searchParams.get('acr_values'), ACR_MFA);
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    const result = await alice.login(locationOf(start), 'alice');
    assert.equal(result.response?.status, 200);
    const after = await sessionOf(stack, alice);
    assert.notEqual(after?.id, before?.id);
    assert.equal(after?.createdAt, before?.createdAt);
    assert.equal(after?.acr, ACR_MFA);
    assert.equal((await check('/mfa/page')).status, 202);
  });

  it('/oauth2/start for a target whose rule the session meets is a plain login', async () => {
    const browser = new BrowserClient();
    const start = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=%2Fplain`);
    assert.equal(locationOf(start).searchParams.has('acr_values'), false);
  });
});

describe('a refresh keeps the acr and auth_time of the login', () => {
  const clock = createTestClock();
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack({ now: clock.now, idp: { accessTokenTtl: 120, refreshedAccessTokenTtl: 3600 } });
  });
  after(() => stack.close());

  it('after a refresh the session still meets the acr rule', async () => {
    const browser = new BrowserClient();
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    assert.equal((await browser.login(`${stack.publicUrl}/mfa/x`, 'alice')).response?.status, 200);
    const before = await sessionOf(stack, browser);
    const grants = stack.idp.refreshGrants();
    clock.advance(115_000);
    assert.equal((await browser.fetch(`${stack.publicUrl}/mfa/y`)).status, 200);
    assert.equal(stack.idp.refreshGrants(), grants + 1, 'the tokens were refreshed');
    const after = await sessionOf(stack, browser);
    assert.equal(after?.gen, (before?.gen ?? 0) + 1);
    assert.equal(after?.acr, ACR_MFA);
    assert.equal(after?.authAt, before?.authAt);
    assert.equal(idTokenClaims(after).acr, ACR_MFA, 'the refreshed ID token says the same');
    clock.reset();
  });
});
