/**
 * Several identity providers, after signing in: refresh, sign-out, back-channel logout and API bearer tokens
 * each go to the session's (or the token's) own provider, never another; one provider that cannot be reached
 * leaves the others working, and /ready names it. Two real oidc-provider instances with the same users (the
 * same `sub` at both), real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { createTestClock } from '../helpers/test-clock.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';

const API = 'https://api.example.com/';

describe('several providers: sessions and tokens', () => {
  let stack: TwoProviderStack;
  const clock = createTestClock();
  before(async () => {
    stack = await startTwoProviders({
      backchannelLogout: true,
      now: clock.now,
      // Partner tokens live two minutes (refreshed ones an hour), so moving the gateway's clock on makes them due.
      partners: { accessTokenTtl: 120, refreshedAccessTokenTtl: 3600 },
      configure: (tree) => {
        tree.api = { acceptBearerTokens: true, audiences: [API] };
      },
    });
  });
  after(() => stack.close());
  beforeEach(() => clock.reset());

  it("refreshes a session's tokens at its own provider", async () => {
    const browser = await stack.signIn('partners', 'alice');
    const corpRefreshes = stack.corp.refreshGrants();
    const partnerRefreshes = stack.partners.refreshGrants();
    clock.advance(90_000); // within a minute of the partner token's end
    assert.equal((await browser.fetch(`${stack.publicUrl}/hello`)).status, 200);
    assert.equal(stack.partners.refreshGrants(), partnerRefreshes + 1, 'refreshed at partners');
    assert.equal(stack.corp.refreshGrants(), corpRefreshes, 'corp was not asked');
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(text, /^authgate_token_refreshes_total\{outcome="success",provider="partners"\} [1-9]/m);
  });

  it("signs out at the session's own provider", async () => {
    const browser = await stack.signIn('partners', 'bob');
    const out = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/`);
    assert.equal(out.status, 302);
    const location = out.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${stack.partners.issuer}/`), `RP-initiated logout at partners, got ${location}`);
    assert.equal((await browser.fetch(`${stack.publicUrl}/hello`, { headers: { accept: 'application/json' } })).status, 401);
  });

  it("a provider's back-channel logout ends its own sessions only, even for the same sub", async () => {
    const atCorp = await stack.signIn('corp', 'alice');
    const atPartners = await stack.signIn('partners', 'alice');
    const status = async (browser: typeof atCorp) => (await browser.fetch(`${stack.publicUrl}/hello`, { headers: { accept: 'application/json' } })).status;
    assert.equal(await status(atCorp), 200);
    assert.equal(await status(atPartners), 200);

    await stack.partners.backchannelLogout('alice'); // rejects unless the gateway answered 200

    assert.equal(await status(atPartners), 401, "partners' alice is signed out");
    assert.equal(await status(atCorp), 200, "corp's alice is not");
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(text, /^authgate_backchannel_logouts_total\{outcome="accepted",provider="partners"\} [1-9]/m);
  });

  it("a logout token is checked with its issuer's keys: partners' key cannot speak for corp", async () => {
    const atCorp = await stack.signIn('corp', 'bob');
    const forged = await stack.partners.signJwt({
      iss: stack.corp.issuer,
      aud: 'authgate-test',
      iat: Math.floor(Date.now() / 1000),
      jti: `forged-${Date.now()}`,
      sub: 'bob',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    const answer = await fetch(`${stack.publicUrl}/oauth2/backchannel_logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: forged }).toString(),
    });
    assert.equal(answer.status, 400);
    assert.equal((await atCorp.fetch(`${stack.publicUrl}/hello`)).status, 200, 'still signed in at corp');
  });

  it("accepts a bearer token by its issuer, on routes that accept that provider, and refuses another's key", async () => {
    const token = await stack.partners.issueJwtAccessToken({ sub: 'alice', resource: API });
    const call = (path: string, bearer: string) => fetch(`${stack.publicUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    const ok = await call('/partners/data', token);
    assert.equal(ok.status, 200);
    const { headers } = (await ok.json()) as { headers: Record<string, string> };
    assert.equal(headers['x-forwarded-provider'], 'partners');
    assert.equal(headers['x-forwarded-user'], 'alice');
    assert.equal((await call('/staff/data', token)).status, 401, 'corp-only route');

    // Signed with partners' key but naming corp as its issuer: checked with corp's keys, refused.
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    const forged = await stack.partners.signJwt({ ...claims, iss: stack.corp.issuer }, { typ: 'at+jwt' });
    const refused = await call('/data', forged);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
    // An issuer no provider has is refused outright.
    const stranger = await stack.partners.signJwt({ ...claims, iss: 'https://elsewhere.example' }, { typ: 'at+jwt' });
    assert.equal((await call('/data', stranger)).status, 401);
  });
});

describe('several providers: one of them down', () => {
  let stack: TwoProviderStack;
  before(async () => {
    const deadPort = await freePort(); // nothing listens there
    stack = await startTwoProviders({
      configure: (tree) => {
        const [corp] = tree.providers!;
        tree.providers!.push({ ...corp, id: 'down', name: 'Down', issuer: `http://127.0.0.1:${deadPort}` });
      },
      waitFor: ['corp', 'partners'],
    });
  });
  after(() => stack.close());

  it('/ready stays 200 and names the missing provider; its users get a 503 page, the others sign in', async () => {
    const ready = await fetch(`${stack.publicUrl}/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { ready: boolean; providersMissing: string[] };
    assert.deepEqual(body.providersMissing, ['down']);
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(text, /^authgate_provider_ready\{provider="down"\} 0$/m);

    const start = await fetch(`${stack.publicUrl}/oauth2/start?provider=down&rd=/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(start.status, 503);
    const browser = await stack.signIn('partners', 'alice');
    assert.equal((await browser.fetch(`${stack.publicUrl}/hello`)).status, 200);
  });
});
