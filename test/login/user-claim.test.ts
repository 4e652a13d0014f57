/**
 * `oidc.userClaim`: the claim that names the user upstream, in forward-auth answers and in /oauth2/userinfo.
 * A sign-in or a bearer token without the claim is refused, never named by another claim; `email` counts
 * only when the provider verified it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { call, forge, withBearers } from '../routes/bearer-fixtures.js';

const JSON_ACCEPT = { accept: 'application/json' };

describe('oidc.userClaim: email', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      idp: {
        users: [
          { sub: 'alice', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice', groups: ['admins'] },
          { sub: 'mallory', email: 'alice@example.org', emailVerified: false, preferredUsername: 'mallory', name: 'Mallory', groups: [] },
        ],
      },
      configure: (c) => {
        c.oidc.userClaim = 'email';
        c.server.trustedProxies = ['127.0.0.1'];
        withBearers()(c);
      },
    });
  });
  after(() => stack.close());

  it('names the user by the verified email upstream, in forward-auth and in userinfo', async () => {
    const alice = await stack.signIn('alice', '/page');
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice@example.com');
    const auth = await alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { ...JSON_ACCEPT, 'x-forwarded-uri': '/' } });
    assert.equal(auth.status, 202);
    assert.equal(auth.headers.get('x-auth-request-user'), 'alice@example.com');
    const info = (await (await alice.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: JSON_ACCEPT })).json()) as { user: string };
    assert.equal(info.user, 'alice@example.com');
  });

  it('refuses a sign-in whose email the provider did not verify: no session, a 400 page', async () => {
    const browser = stack.browser();
    const result = await browser.login(`${stack.publicUrl}/page`, 'mallory');
    assert.equal(result.response?.status, 400);
    assert.match(await result.response.text(), /did not say who you are/);
    const after = await browser.fetch(`${stack.publicUrl}/page`, { headers: JSON_ACCEPT });
    assert.equal(after.status, 401);
    assert.ok(!stack.upstream.requests.some((r) => r.headers['x-forwarded-user'] === 'mallory'));
  });

  it('names a bearer token by its email claim, and refuses one without it (401, nothing proxied)', async () => {
    const good = await forge(stack, { email_verified: true });
    const ok = await call(stack, '/api', `Bearer ${good}`);
    assert.equal(ok.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice@example.com');
    const before = stack.upstream.requests.length;
    const without = await forge(stack, { email: undefined });
    const refused = await call(stack, '/api', `Bearer ${without}`);
    assert.equal(refused.status, 401);
    assert.equal(stack.upstream.requests.length, before);
  });
});

describe('oidc.userClaim: a claim the provider does not send', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ configure: (c) => (c.oidc.userClaim = 'oid') });
  });
  after(() => stack.close());

  it('refuses every sign-in and logs which claim was missing', async () => {
    const result = await stack.browser().login(`${stack.publicUrl}/`, 'alice');
    assert.equal(result.response?.status, 400);
    const failed = stack.gateway.logEntries().find((entry) => entry.msg === 'login failed') as { err?: { cause?: { message?: string } } } | undefined;
    assert.equal(failed?.err?.cause?.message, 'the "oid" claim (oidc.userClaim) is missing');
  });
});
