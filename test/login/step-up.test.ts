/**
 * Step-up per route (allow.acr, allow.maxAge) through a real provider: a browser goes back to the provider
 * with acr_values / max_age, returns to the same page, and its session is the same one upgraded under a new
 * id (cookie store and Redis store); the provider received what the route asks and the new ID token says
 * it; API callers get the RFC 9470 challenge; a route without a rule is unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import { redisAvailable, startRedis, type StartedRedis } from '../helpers/redis.js';
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
} from './step-up-fixtures.js';

const JSON_ACCEPT = { accept: 'application/json' };

for (const store of ['cookie', 'redis'] as const) {
  describe(`step-up with the ${store} store`, { skip: store === 'redis' && !redisAvailable() }, () => {
    let stack: Stack;
    let redis: StartedRedis | undefined;
    before(async () => {
      if (store === 'redis') redis = await startRedis();
      stack = await startStepUpStack({ redisUrl: redis?.url });
    });
    after(async () => {
      await stack.close();
      await redis?.close();
    });

    it('leaves a route without a rule as it was: no acr_values, no max_age, no second login', async () => {
      const logins = stack.idp.stepUp.logins.length;
      const alice = await stack.signIn('alice', '/plain');
      const asked = stack.idp.authorizationRequests.at(-1);
      assert.equal(asked?.has('acr_values'), false);
      assert.equal(asked?.has('max_age'), false);
      assert.equal((await alice.fetch(`${stack.publicUrl}/other`)).status, 200);
      assert.equal(stack.idp.stepUp.logins.length, logins + 1);
    });

    it('sends a browser back for acr and returns it to the same page with the same session, upgraded under a new id', async () => {
      const alice = await stack.signIn('alice', '/');
      const before = await sessionOf(stack, alice);
      assert.ok(before);
      assert.equal(before.acr, undefined, 'a login that asked no acr_values has no acr in its ID token');
      const oldCookies = alice.jar.cookieHeader(stack.publicUrl);
      const started = await stepUps(stack, 'started');

      const first = await alice.fetch(`${stack.publicUrl}/mfa/page?q=1`);
      assert.equal(first.status, 302);
      const asked = locationOf(first).searchParams;
      assert.equal(asked.get('acr_values'), ACR_MFA);
      assert.equal(asked.has('max_age'), false);

      stack.idp.stepUp.setLoginAcr(ACR_MFA);
      const result = await alice.login(locationOf(first), 'alice');
      assert.equal(result.response?.status, 200);
      assert.equal(result.visited.at(-1), `${stack.publicUrl}/mfa/page?q=1`);
      assert.equal(stack.upstream.last()?.url, '/mfa/page?q=1');
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
      assert.equal(stack.idp.authorizationRequests.at(-1)?.get('acr_values'), ACR_MFA, 'the provider received acr_values');
      const login = stack.idp.stepUp.logins.at(-1);
      assert.equal(login?.acr, ACR_MFA, 'the provider asked for a new login');

      const after = await sessionOf(stack, alice);
      assert.ok(after);
      assert.notEqual(after.id, before.id, 'the id is rotated');
      assert.equal(after.createdAt, before.createdAt, 'the sign-in time is kept');
      assert.equal(after.identity.sub, 'alice');
      assert.equal(after.acr, ACR_MFA);
      assert.equal(after.authAt, login?.ts);
      const claims = idTokenClaims(after);
      assert.equal(claims.acr, ACR_MFA);
      assert.equal(claims.auth_time, login?.ts);
      assert.notEqual(after.tokens.accessToken, before.tokens.accessToken);
      assert.equal(await stepUps(stack, 'started'), started + 1);
      assert.ok((await stepUps(stack, 'completed')) >= 1);

      // Straight through now, and the plain route too.
      assert.equal((await alice.fetch(`${stack.publicUrl}/mfa/again`)).status, 200);
      assert.equal((await alice.fetch(`${stack.publicUrl}/`)).status, 200);

      const old = new BrowserClient();
      for (const pair of (oldCookies ?? '').split('; ')) old.jar.setCookie(pair, stack.publicUrl);
      if (store === 'redis') {
        const listed = await stack.gateway.gateway.services.sessionControl.listUserSessions('alice');
        assert.deepEqual(listed.filter((s) => s.id === before.id || s.id === after.id).map((s) => s.id), [after.id], 'one session: the upgraded one');
        assert.equal(await sessionOf(stack, old), null, 'the old id stops working');
        assert.equal((await old.fetch(`${stack.publicUrl}/`)).status, 302);
      } else {
        // A cookie copy cannot be revoked (docs/sessions.md); it is still the weaker session.
        assert.equal((await sessionOf(stack, old))?.id, before.id);
        assert.equal((await old.fetch(`${stack.publicUrl}/mfa/page`)).status, 302);
      }
    });

    it('sends a browser back for max_age when its login is too old, and the provider signs it in again', async () => {
      stack.idp.stepUp.setLoginAge(RECENT_SECONDS + 120);
      const alice = await stack.signIn('alice', '/');
      const before = await sessionOf(stack, alice);
      assert.ok(before?.authAt !== undefined && before.authAt < Date.now() / 1000 - RECENT_SECONDS, 'the login is backdated');

      const first = await alice.fetch(`${stack.publicUrl}/recent/report`);
      assert.equal(first.status, 302);
      const asked = locationOf(first).searchParams;
      assert.equal(asked.get('max_age'), String(RECENT_SECONDS));
      assert.equal(asked.has('acr_values'), false);

      const logins = stack.idp.stepUp.logins.length;
      const result = await alice.login(locationOf(first), 'alice');
      assert.equal(result.response?.status, 200);
      assert.equal(result.visited.at(-1), `${stack.publicUrl}/recent/report`);
      assert.equal(stack.idp.stepUp.logins.length, logins + 1, 'max_age made the provider ask for a login');
      const after = await sessionOf(stack, alice);
      assert.ok(after && after.authAt !== undefined && after.authAt >= Math.floor(Date.now() / 1000) - 30);
      assert.equal(idTokenClaims(after).auth_time, after.authAt);
      assert.notEqual(after.id, before.id);
      assert.equal(after.createdAt, before.createdAt);
    });

    it('answers an API caller with the RFC 9470 challenge, naming only what applies', async () => {
      stack.idp.stepUp.setLoginAge(RECENT_SECONDS + 120);
      const alice = await stack.signIn('alice', '/');
      const seen = stack.upstream.requests.length;
      const mfa = await alice.fetch(`${stack.publicUrl}/mfa/api`, { headers: JSON_ACCEPT });
      assert.equal(mfa.status, 401);
      assert.equal(mfa.headers.get('www-authenticate'), MFA_CHALLENGE);
      assert.equal(mfa.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await mfa.json(), { error: 'insufficient_user_authentication' });
      const recent = await alice.fetch(`${stack.publicUrl}/recent/api`, { method: 'POST', headers: JSON_ACCEPT });
      assert.equal(recent.status, 401);
      assert.equal(recent.headers.get('www-authenticate'), RECENT_CHALLENGE);
      await recent.body?.cancel();
      const both = await alice.fetch(`${stack.publicUrl}/both/api`, { headers: JSON_ACCEPT });
      assert.equal(
        both.headers.get('www-authenticate'),
        `Bearer realm="authgate", error="insufficient_user_authentication", error_description="A stronger and more recent sign-in is required", acr_values="${ACR_MFA}", max_age=600`,
      );
      await both.body?.cancel();
      assert.equal(stack.upstream.requests.length, seen, 'nothing reached the upstream');
    });

    it('asks for both at once when a route has both, and a session that meets them passes without a new login', async () => {
      const alice = await stack.signIn('alice', '/');
      const first = await alice.fetch(`${stack.publicUrl}/both/x`);
      const asked = locationOf(first).searchParams;
      assert.equal(asked.get('acr_values'), ACR_MFA);
      assert.equal(asked.get('max_age'), '600');
      stack.idp.stepUp.setLoginAcr(ACR_MFA);
      assert.equal((await alice.login(locationOf(first), 'alice')).response?.status, 200);
      const logins = stack.idp.stepUp.logins.length;
      for (const path of ['/both/y', '/mfa/y', '/recent/y']) assert.equal((await alice.fetch(`${stack.publicUrl}${path}`)).status, 200, path);
      assert.equal(stack.idp.stepUp.logins.length, logins);
      assert.equal((await sessionOf(stack, alice))?.acr, ACR_MFA);
    });

    it('a signed-out browser at a step-up route is asked for it at its first login', async () => {
      const browser = new BrowserClient();
      const first = await browser.fetch(`${stack.publicUrl}/mfa/first`);
      assert.equal(first.status, 302);
      assert.equal(locationOf(first).searchParams.get('acr_values'), ACR_MFA);
      stack.idp.stepUp.setLoginAcr(ACR_MFA);
      const result = await browser.login(locationOf(first), 'bob');
      assert.equal(result.response?.status, 200);
      assert.equal(result.visited.at(-1), `${stack.publicUrl}/mfa/first`);
      assert.equal((await sessionOf(stack, browser))?.acr, ACR_MFA);
    });
  });
}

describe('step-up values and oidc.extraAuthorizeParams', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack({
      configure: (c) => {
        c.oidc.extraAuthorizeParams = { acr_values: ACR_PASSWORD, max_age: 86400, ui_locales: 'de' };
      },
    });
  });
  after(() => stack.close());

  it('the route\'s acr_values and max_age replace the configured ones; other extras stay', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent('/both/x')}`, { redirect: 'manual' });
    const asked = locationOf(response).searchParams;
    assert.deepEqual(asked.getAll('acr_values'), [ACR_MFA]);
    assert.deepEqual(asked.getAll('max_age'), ['600']);
    assert.equal(asked.get('ui_locales'), 'de');
    const plain = await fetch(`${stack.publicUrl}/oauth2/start?rd=%2F`, { redirect: 'manual' });
    assert.equal(locationOf(plain).searchParams.get('acr_values'), ACR_PASSWORD, 'a route without a rule keeps the configured values');
  });
});

describe('allow.acr and allow.maxAge in the configuration', () => {
  const yaml = (allow: string) =>
    `server: { publicUrl: "https://gw.example.com" }\noidc: { issuer: "https://idp.example.com", clientId: c, clientSecret: s }\nsession: { keys: ["${Buffer.alloc(32, 1).toString('base64')}"] }\n` +
    `defaults: { allow: ${allow} }\nupstreams: [{ name: a, url: "http://a:1" }, { name: b, path: /b, url: "http://b:1", allow: { groups: [x] } }]\n`;

  it('are inherited with defaults.allow, as a whole', () => {
    const config = parseConfigText(yaml('{ acr: ["urn:example:mfa"], maxAge: "15m" }'), 'test', {});
    assert.deepEqual(config.upstreams[0]?.allow.acr, ['urn:example:mfa']);
    assert.equal(config.upstreams[0]?.allow.maxAge, 15 * 60_000);
    assert.equal(config.upstreams[1]?.allow.acr, undefined, 'an own allow replaces the default whole');
  });

  it('refuse an acr value that could not travel in acr_values or a quoted challenge', () => {
    for (const bad of ['"a b"', '"a\\"b"', '""']) {
      assert.throws(() => parseConfigText(yaml(`{ acr: [${bad}] }`), 'test', {}), /acr/, bad);
    }
  });
});
