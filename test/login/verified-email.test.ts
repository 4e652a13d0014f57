/**
 * Email rules and X-Forwarded-Email trust only an email the provider marks `email_verified: true` (or the
 * string "true", as AWS Cognito sends it): anyone can type an address they do not own into a provider that
 * does not verify it. `oidc.trustUnverifiedEmail: true` restores the old behaviour for providers that never
 * send the claim. Email and its flag come as a pair from one source (ID token, else userinfo). The same rule
 * holds for sessions, forward-auth and API bearer tokens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { loginWith } from './forged-login.js';

const API = 'https://api.example.test';
/** Claims a sign-up form lets anyone choose: an address at the company's domain, never verified. */
const EVE = { sub: 'eve', email: 'eve@example.com', emailVerified: false, preferredUsername: 'eve', name: 'Eve', groups: ['staff'] };

function routes(trustUnverifiedEmail: boolean) {
  return (c: ConfigTree) => {
    c.oidc.trustUnverifiedEmail = trustUnverifiedEmail;
    c.server.trustedProxies = ['127.0.0.1']; // forward-auth believes the test as the proxy
    c.api = { acceptBearerTokens: true, audiences: [API] };
    const url = c.upstreams[0]?.url;
    c.upstreams.push(
      { name: 'domain', path: '/domain', url, allow: { emailDomains: ['example.com'] } },
      { name: 'emails', path: '/emails', url, allow: { emails: ['eve@example.com', 'alice@example.com'] } },
    );
  };
}

const get = (browser: BrowserClient, url: string) => browser.fetch(url, { headers: { accept: 'application/json', 'x-forwarded-uri': '/' } });

describe('unverified emails', () => {
  let stack: Stack;
  let eve: BrowserClient;
  before(async () => {
    stack = await startStack({ configure: routes(false), idp: { users: [EVE, { ...EVE, sub: 'alice', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice' }] } });
    eve = await stack.signIn('eve');
  });
  after(() => stack.close());

  it('are refused by an emailDomains route and by an emails route (403)', async () => {
    assert.equal((await get(eve, `${stack.publicUrl}/domain/x`)).status, 403);
    assert.equal((await get(eve, `${stack.publicUrl}/emails/x`)).status, 403);
  });

  it('are not sent upstream on an open route, and /oauth2/userinfo says email null', async () => {
    const response = await get(eve, `${stack.publicUrl}/open`);
    assert.equal(response.status, 200);
    const seen = stack.upstream.last();
    assert.equal(seen?.headers['x-forwarded-user'], 'eve');
    assert.equal(seen?.headers['x-forwarded-email'], undefined);
    const info = (await (await get(eve, `${stack.publicUrl}/oauth2/userinfo`)).json()) as { user: string; email: unknown };
    assert.equal(info.user, 'eve');
    assert.equal(info.email, null);
  });

  it('are not answered by forward-auth (no X-Auth-Request-Email)', async () => {
    const response = await get(eve, `${stack.publicUrl}/oauth2/auth`);
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('x-auth-request-user'), 'eve');
    assert.equal(response.headers.get('x-auth-request-email'), null);
  });

  it('are not trusted in an API bearer token either', async () => {
    const token = await stack.idp.issueJwtAccessToken({ sub: 'eve', resource: API });
    const domain = await fetch(`${stack.publicUrl}/domain/x`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    assert.equal(domain.status, 403);
    const open = await fetch(`${stack.publicUrl}/open`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    assert.equal(open.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-email'], undefined);
  });

  it('a verified email still passes both rules and is forwarded', async () => {
    const alice = await stack.signIn('alice');
    assert.equal((await get(alice, `${stack.publicUrl}/domain/x`)).status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal((await get(alice, `${stack.publicUrl}/emails/x`)).status, 200);
  });

  it('accepts email_verified as the string "true" (AWS Cognito) and nothing else that merely looks true', async () => {
    for (const [flag, trusted] of [['true', true], ['false', false], [1, false], ['yes', false]] as const) {
      const { status, browser } = await loginWith(stack, { claims: (c) => ({ ...c, email_verified: flag }) }, 'alice');
      assert.equal(status, 200);
      assert.equal((await get(browser, `${stack.publicUrl}/domain/x`)).status, trusted ? 200 : 403, `email_verified: ${JSON.stringify(flag)}`);
    }
  });

  it("never pairs the ID token's email with userinfo's email_verified", async () => {
    // The ID token names an address without a verified flag and no groups, so the gateway asks userinfo,
    // which marks ITS address (alice@example.com) verified. That flag says nothing about the other address.
    const { status, browser } = await loginWith(
      stack,
      { claims: ({ email_verified: _flag, groups: _groups, ...c }) => ({ ...c, email: 'ceo@example.com' }) },
      'alice',
    );
    assert.equal(status, 200);
    const info = (await (await get(browser, `${stack.publicUrl}/oauth2/userinfo`)).json()) as { email: unknown; groups: unknown };
    assert.deepEqual(info.groups, ['staff'], 'userinfo was asked (the groups come from it)');
    assert.equal(info.email, null);
  });

  it("takes email and email_verified from userinfo together when the ID token has no email", async () => {
    const { status, browser } = await loginWith(stack, { claims: ({ email: _e, email_verified: _v, ...c }) => c }, 'alice');
    assert.equal(status, 200);
    const info = (await (await get(browser, `${stack.publicUrl}/oauth2/userinfo`)).json()) as { email: unknown };
    assert.equal(info.email, 'alice@example.com');
  });
});

describe('unverified emails with oidc.trustUnverifiedEmail: true', () => {
  let stack: Stack;
  let eve: BrowserClient;
  before(async () => {
    stack = await startStack({ configure: routes(true), idp: { users: [EVE] } });
    eve = await stack.signIn('eve');
  });
  after(() => stack.close());

  it('pass the email rules, are forwarded, and answered by userinfo and forward-auth', async () => {
    assert.equal((await get(eve, `${stack.publicUrl}/domain/x`)).status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-email'], 'eve@example.com');
    assert.equal((await get(eve, `${stack.publicUrl}/emails/x`)).status, 200);
    const info = (await (await get(eve, `${stack.publicUrl}/oauth2/userinfo`)).json()) as { email: unknown };
    assert.equal(info.email, 'eve@example.com');
    const auth = await get(eve, `${stack.publicUrl}/oauth2/auth`);
    assert.equal(auth.headers.get('x-auth-request-email'), 'eve@example.com');
  });

  it('pass in an API bearer token too', async () => {
    const token = await stack.idp.issueJwtAccessToken({ sub: 'eve', resource: API });
    const response = await fetch(`${stack.publicUrl}/domain/x`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-email'], 'eve@example.com');
  });
});
