/**
 * An outside attacker against several providers: a session of one provider trying to reach a route that
 * accepts only another (forward-auth, WebSocket upgrade, an optional route), a forged `provider` choice at
 * /oauth2/start, a sign-in page asked to send the browser elsewhere, and logout and bearer tokens whose
 * `iss` is not a plain string of a configured issuer. Two real oidc-provider instances, real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';
import { assertOpen, assertRefused, connect, startWsUpstream, type WsUpstream } from '../proxy/ws-echo-fixtures.js';

const HTML = { accept: 'text/html' };
const API = 'https://api.example.com/';

describe('several providers: one provider cannot reach what only another may', () => {
  let stack: TwoProviderStack;
  let ws: WsUpstream;
  before(async () => {
    ws = await startWsUpstream();
    stack = await startTwoProviders({
      backchannelLogout: true,
      configure: (tree) => {
        tree.server.trustedProxies = ['127.0.0.1/32'];
        tree.api = { acceptBearerTokens: true, audiences: [API] };
        tree.upstreams.unshift(
          { name: 'staff-ws', path: '/staff-ws', url: ws.url, websocket: true, providers: ['corp'], allow: { anyAuthenticatedUser: true } },
          { name: 'staff-optional', path: '/staff-optional', url: stack0Upstream(tree), auth: 'optional', providers: ['corp'] },
        );
      },
    });
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  it('forward-auth judges a corp-only path: a partners session is 401 with no identity, a corp one 202', async () => {
    const partner = await stack.signIn('partners', 'alice');
    const corp = await stack.signIn('corp', 'alice', '/staff/x');
    const ask = (browser: typeof partner, uri: string) =>
      browser.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { 'x-forwarded-uri': uri, 'x-forwarded-host': new URL(stack.publicUrl).host } });
    for (const uri of ['/staff/report', '/Staff/report', '/staff/../staff/report', '/%73taff/report']) {
      const refused = await ask(partner, uri);
      assert.equal(refused.status, 401, `partners session on ${uri}`);
      assert.equal(refused.headers.get('x-auth-request-user'), null);
    }
    const allowed = await ask(corp, '/staff/report');
    assert.equal(allowed.status, 202);
    assert.equal(allowed.headers.get('x-auth-request-user'), 'alice');
    assert.equal(allowed.headers.get('x-auth-request-provider'), 'corp', 'the app behind the proxy can tell alice at corp from alice at partners');
    const partnerAllowed = await ask(partner, '/hello');
    assert.equal(partnerAllowed.status, 202);
    assert.equal(partnerAllowed.headers.get('x-auth-request-provider'), 'partners');
    // Both a route that takes partners and one that does not, named at once: the strictest wins.
    const both = await partner.fetch(`${stack.publicUrl}/oauth2/auth`, {
      headers: { 'x-forwarded-uri': '/hello', 'x-forwarded-host': new URL(stack.publicUrl).host, 'x-original-url': `${stack.publicUrl}/staff/report` },
    });
    assert.equal(both.status, 401);
  });

  it('a partners session cannot open a WebSocket on a corp-only route; a corp session can', async () => {
    const partner = await stack.signIn('partners', 'bob');
    const corp = await stack.signIn('corp', 'bob', '/staff/x');
    const wsUrl = `${stack.publicUrl.replace(/^http/, 'ws')}/staff-ws/socket`;
    const before = ws.connections.length;
    assertRefused(await connect(wsUrl, { cookie: partner.jar.cookieHeader(stack.publicUrl) ?? '' }), 401, 'partners session');
    assert.equal(ws.connections.length, before, 'the upstream saw no connection');
    const open = assertOpen(await connect(wsUrl, { cookie: corp.jar.cookieHeader(stack.publicUrl) ?? '' }), 'corp session');
    open.ws.close();
  });

  it('an optional corp-only route sends a partners session upstream as nobody', async () => {
    const partner = await stack.signIn('partners', 'alice');
    const seen = await partner.fetch(`${stack.publicUrl}/staff-optional/page`);
    assert.equal(seen.status, 200);
    const { headers } = (await seen.json()) as { headers: Record<string, string> };
    for (const name of ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-provider', 'authorization', 'x-forwarded-access-token']) {
      assert.equal(headers[name], undefined, `${name} must not reach a route that does not accept partners`);
    }
  });

  it('a forged provider choice is a 400 and starts no login: arrays, prototype names, case, padding', async () => {
    const before = stack.corp.authorizationRequests.length + stack.partners.authorizationRequests.length;
    for (const query of [
      'provider=corp&provider=partners',
      'provider=__proto__',
      'provider=constructor',
      'provider=toString',
      'provider=hasOwnProperty',
      'provider=CORP',
      'provider=corp%20',
      'provider=%20corp',
      'provider=corp%00',
      'provider=',
    ]) {
      const answer = await fetch(`${stack.publicUrl}/oauth2/start?${query}&rd=/`, { headers: HTML, redirect: 'manual' });
      assert.equal(answer.status, 400, query);
      assert.equal(answer.headers.get('set-cookie'), null, `${query}: no login transaction`);
      assert.doesNotMatch(await answer.text(), /__proto__|constructor|toString|hasOwnProperty|CORP/, `${query}: nothing echoed`);
    }
    // A key that is not `provider` is no choice at all: the sign-in page offers both, nothing starts.
    const bracketed = await fetch(`${stack.publicUrl}/oauth2/start?provider[]=corp&rd=/`, { headers: HTML, redirect: 'manual' });
    assert.equal(bracketed.status, 302);
    assert.equal(bracketed.headers.get('location'), '/oauth2/sign_in?rd=%2F');
    assert.equal(stack.corp.authorizationRequests.length + stack.partners.authorizationRequests.length, before);
  });

  it('the sign-in page never offers a way off the origin, whatever rd says', async () => {
    const evil = [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      '/%0d%0aSet-Cookie:%20x=1',
      '/\r\nSet-Cookie: x=1',
      'http:evil.example', // a path on the own origin (/evil.example) for an http publicUrl
      `/${'a'.repeat(5000)}`,
      '/"><script>alert(1)</script>',
      '{{title}}',
    ];
    for (const rd of evil) {
      const page = await fetch(`${stack.publicUrl}/oauth2/sign_in?rd=${encodeURIComponent(rd)}`, { headers: HTML, redirect: 'manual' });
      assert.equal(page.status, 200, rd);
      const html = await page.text();
      // An encoded CR/LF stays an encoded path (`/%0d%0a...`): harmless text, never a raw line break.
      assert.doesNotMatch(html, /\/\/evil\.example|javascript:|<script>|\r|\nSet-Cookie/i, `${JSON.stringify(rd).slice(0, 40)} echoed`);
      assert.equal(page.headers.get('set-cookie'), null);
      for (const [, href] of html.matchAll(/href="([^"]*)"/g)) {
        const url = new URL(href.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'), stack.publicUrl);
        assert.equal(url.origin, stack.publicUrl, `a button leaves the origin: ${href}`);
        const target = url.searchParams.get('rd');
        if (target !== null) assert.equal(new URL(target, stack.publicUrl).origin, stack.publicUrl, `rd leaves the origin: ${target}`);
      }
    }
  });

  it('logout tokens whose iss is an array, a number or another spelling end nothing', async () => {
    const atCorp = await stack.signIn('corp', 'bob');
    const iat = Math.floor(Date.now() / 1000);
    const claims = (iss: unknown, n: number) => ({
      iss,
      aud: 'authgate-test',
      iat,
      exp: iat + 120,
      jti: `attack-${n}-${Date.now()}`,
      sub: 'bob',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    });
    const forms: unknown[] = [[stack.corp.issuer], [stack.partners.issuer, stack.corp.issuer], 1, null, `${stack.corp.issuer}/`, `${stack.corp.issuer} `, stack.corp.issuer.toUpperCase()];
    for (const [n, iss] of forms.entries()) {
      const token = await stack.corp.signJwt(claims(iss, n), { typ: 'logout+jwt' });
      const answer = await fetch(`${stack.publicUrl}/oauth2/backchannel_logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      assert.equal(answer.status, 400, `iss ${JSON.stringify(iss)}`);
    }
    assert.equal((await atCorp.fetch(`${stack.publicUrl}/hello`)).status, 200, 'still signed in at corp');
  });

  it('bearer tokens whose iss is an array or another spelling are refused, nothing proxied', async () => {
    const token = await stack.corp.issueJwtAccessToken({ sub: 'alice', resource: API });
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    const received = stack.upstream.requests.length;
    for (const iss of [[stack.corp.issuer], `${stack.corp.issuer}/`, 7]) {
      const forged = await stack.corp.signJwt({ ...claims, iss }, { typ: 'at+jwt' });
      const answer = await fetch(`${stack.publicUrl}/staff/data`, { headers: { authorization: `Bearer ${forged}` } });
      assert.equal(answer.status, 401, `iss ${JSON.stringify(iss)}`);
    }
    assert.equal(stack.upstream.requests.length, received);
    assert.equal((await fetch(`${stack.publicUrl}/staff/data`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the real token works');
  });
});

/** The recording upstream's URL, from the route the helper configured first. */
function stack0Upstream(tree: { upstreams: Array<{ url?: unknown }> }): string {
  return String(tree.upstreams[tree.upstreams.length - 1].url);
}
