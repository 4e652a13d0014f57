/**
 * Several identity providers, signing in: the sign-in page offers the providers a target accepts, a route
 * with one provider goes straight to it, sessions carry their provider upstream (X-Forwarded-Provider) and
 * count as none on a route that does not accept it, and a callback is accepted only from the provider its
 * login transaction names (mix-up defence: by state and by RFC 9207 `iss`). Two real oidc-provider
 * instances, real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';

const HTML = { accept: 'text/html' };

/** An attribute value as the browser reads it (the templates escape "&" and "=" too). */
function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
  return text.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(amp|lt|gt|quot));/gi, (_m, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
    hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : named[name ?? ''] ?? '',
  );
}

describe('several providers: signing in', () => {
  let stack: TwoProviderStack;
  before(async () => {
    stack = await startTwoProviders();
  });
  after(() => stack.close());

  /** The provider whose authorization endpoint a gateway answer redirects to, and the query it sends. */
  const authorizeTarget = (response: Response) => {
    assert.equal(response.status, 302);
    const location = new URL(response.headers.get('location') ?? '', stack.publicUrl);
    const issuer = [stack.corp, stack.partners].find((idp) => location.href.startsWith(idp.issuer));
    return { provider: issuer === stack.corp ? 'corp' : issuer === stack.partners ? 'partners' : location.href, location };
  };

  it('a navigation to a route both accept goes to the sign-in page, which offers both with the target kept', async () => {
    const browser = new BrowserClient();
    const first = await browser.fetch(`${stack.publicUrl}/docs/page?x=1`, { headers: HTML });
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), '/oauth2/sign_in?rd=%2Fdocs%2Fpage%3Fx%3D1');
    const page = await browser.fetch(`${stack.publicUrl}/oauth2/sign_in?rd=%2Fdocs%2Fpage%3Fx%3D1`, { headers: HTML });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    const buttons = [...html.matchAll(/<a [^>]*href="([^"]+)" data-provider="([^"]+)">([^<]*)<\/a>/g)].map((m) => [m[2], decodeEntities(m[1] ?? ''), m[3]]);
    // The name is the operator's text, shown escaped: no markup of its own.
    assert.deepEqual(buttons, [
      ['corp', '/oauth2/start?provider=corp&rd=%2Fdocs%2Fpage%3Fx%3D1', 'Corp SSO'],
      ['partners', '/oauth2/start?provider=partners&rd=%2Fdocs%2Fpage%3Fx%3D1', 'Partner &lt;login&gt; &amp; &quot;friends&quot;'],
    ]);
    assert.ok(!html.includes('<login>') && !html.includes('"friends"'), 'the provider name is escaped');
  });

  it('a route with one provider goes straight to it, from a navigation and from the sign-in page', async () => {
    const browser = new BrowserClient();
    assert.equal(authorizeTarget(await browser.fetch(`${stack.publicUrl}/staff/report`, { headers: HTML })).provider, 'corp');
    assert.equal(authorizeTarget(await browser.fetch(`${stack.publicUrl}/partners/x`, { headers: HTML })).provider, 'partners');
    assert.equal(authorizeTarget(await browser.fetch(`${stack.publicUrl}/oauth2/sign_in?rd=/staff/report`, { headers: HTML })).provider, 'corp');
    assert.equal(authorizeTarget(await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=/partners/x`, { headers: HTML })).provider, 'partners');
  });

  it('/oauth2/start?provider=ID starts at that provider; an unknown id is a 400', async () => {
    const browser = new BrowserClient();
    const { provider, location } = authorizeTarget(await browser.fetch(`${stack.publicUrl}/oauth2/start?provider=partners&rd=/a`));
    assert.equal(provider, 'partners');
    assert.equal(location.searchParams.get('redirect_uri'), `${stack.publicUrl}/oauth2/callback`, 'one redirect URI for every provider');
    for (const id of ['nope', 'CORP', '', 'corp ']) {
      const answer = await browser.fetch(`${stack.publicUrl}/oauth2/start?provider=${encodeURIComponent(id)}&rd=/a`);
      assert.equal(answer.status, 400, `provider=${JSON.stringify(id)}`);
    }
  });

  it('the upstream learns the provider, and a client cannot claim another', async () => {
    const browser = await stack.signIn('partners', 'alice', '/hello');
    const seen = await browser.fetch(`${stack.publicUrl}/hello`, { headers: { 'x-forwarded-provider': 'corp', 'X_Forwarded_Provider': 'corp' } });
    assert.equal(seen.status, 200);
    const { headers } = (await seen.json()) as { headers: Record<string, string> };
    assert.equal(headers['x-forwarded-provider'], 'partners');
    assert.equal(headers['x-forwarded-user'], 'alice');
    assert.equal(headers['x_forwarded_provider'], undefined);
    const userinfo = (await (await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`)).json()) as Record<string, unknown>;
    assert.equal(userinfo.provider, 'partners');

    const staff = await stack.signIn('corp', 'alice', '/staff/hello');
    const staffSeen = (await (await staff.fetch(`${stack.publicUrl}/staff/hello`)).json()) as { headers: Record<string, string> };
    assert.equal(staffSeen.headers['x-forwarded-provider'], 'corp');
  });

  it("a session from a provider a route does not accept counts as none there: the route's provider is asked", async () => {
    const partner = await stack.signIn('partners', 'alice', '/partners/home');
    assert.equal((await partner.fetch(`${stack.publicUrl}/partners/home`)).status, 200);
    assert.equal(authorizeTarget(await partner.fetch(`${stack.publicUrl}/staff/report`, { headers: HTML })).provider, 'corp');
    const api = await partner.fetch(`${stack.publicUrl}/staff/report`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    // Still signed in where the session is accepted: nothing was ended.
    assert.equal((await partner.fetch(`${stack.publicUrl}/partners/home`)).status, 200);
  });

  it("refuses a callback carrying another provider's answer for this login's state (mix-up)", async () => {
    const browser = new BrowserClient();
    // Two logins in one browser: one at partners, one at corp, both stopped at the gateway's callback.
    const atPartners = new URL((await browser.login(`${stack.publicUrl}/oauth2/start?provider=partners&rd=/p`, 'alice', { stopAtCallback: true })).callbackUrl);
    const atCorp = new URL((await browser.login(`${stack.publicUrl}/oauth2/start?provider=corp&rd=/c`, 'bob', { stopAtCallback: true })).callbackUrl);
    assert.equal(atCorp.searchParams.get('iss'), stack.corp.issuer, 'the provider sends RFC 9207 iss');
    const tokenCalls = stack.corp.tokenRequests.length + stack.partners.tokenRequests.length;

    // corp's code and iss under the partners login's state: the transaction names partners.
    const mixed = new URL(atPartners);
    mixed.searchParams.set('code', atCorp.searchParams.get('code')!);
    mixed.searchParams.set('iss', stack.corp.issuer);
    const refused = await browser.fetch(mixed, { headers: HTML });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /expected identity provider/);

    // corp's own answer without its iss: corp promises iss, so its absence is refused too.
    const stripped = new URL(atCorp);
    stripped.searchParams.delete('iss');
    assert.equal((await browser.fetch(stripped, { headers: HTML })).status, 400);
    assert.equal(stack.corp.tokenRequests.length + stack.partners.tokenRequests.length, tokenCalls, 'no code reached a token endpoint');
  });

  it('counts logins by provider', async () => {
    await stack.signIn('partners', 'bob');
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(text, /^authgate_logins_total\{outcome="success",provider="partners"\} [1-9]/m);
    assert.match(text, /^authgate_logins_total\{outcome="failed",provider="partners"\} [1-9]/m);
    assert.match(text, /^authgate_provider_ready\{provider="corp"\} 1$/m);
    assert.match(text, /^authgate_provider_ready\{provider="partners"\} 1$/m);
    assert.match(text, /^authgate_provider_requests_total\{operation="code_grant",outcome="success",provider="corp"\} [1-9]/m);
  });
});
