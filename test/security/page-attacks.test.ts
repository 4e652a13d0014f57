/**
 * An outside attacker against the gateway's own pages: framing them on another site (clickjacking their
 * buttons), caching them, and making them echo request data (path, query, headers) or a provider's error
 * text as markup, template syntax or a script URL. Two real oidc-provider instances, real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';

const HTML = { accept: 'text/html' };
const PAYLOAD = '<img src=x onerror=alert(1)>{{title}}{{{footer}}}javascript:alert(1)\u202egnp.exe';

/** True when a page may not be shown inside another site's frame. */
function frameProtected(response: Response): boolean {
  const csp = response.headers.get('content-security-policy') ?? '';
  return /frame-ancestors 'none'/.test(csp) && response.headers.get('x-frame-options')?.toUpperCase() === 'DENY';
}

describe("the gateway's pages under attack", () => {
  let stack: TwoProviderStack;
  before(async () => {
    stack = await startTwoProviders({
      configure: (tree) => {
        tree.upstreams.unshift({ name: 'closed', path: '/closed', url: String(tree.upstreams[0].url), allow: { emails: ['nobody@example.com'] } });
      },
    });
  });
  after(() => stack.close());

  it('every page the gateway shows is no-store and refuses to be framed', async () => {
    const signedIn = await stack.signIn('corp', 'alice');
    const pages: Array<[string, Response]> = [
      ['sign-in', await fetch(`${stack.publicUrl}/oauth2/sign_in?rd=/`, { headers: HTML, redirect: 'manual' })],
      ['signed-out', await fetch(`${stack.publicUrl}/oauth2/signed_out`, { headers: HTML })],
      ['unknown provider (400)', await fetch(`${stack.publicUrl}/oauth2/start?provider=nope`, { headers: HTML })],
      ['callback without a transaction (400)', await fetch(`${stack.publicUrl}/oauth2/callback?state=x&code=y`, { headers: HTML })],
      ['denied (403)', await signedIn.fetch(`${stack.publicUrl}/closed/page`, { headers: HTML })],
      ['bad path (400)', await fetch(`${stack.publicUrl}/a%2Fb`, { headers: HTML })],
      [
        'sign-out confirmation',
        await signedIn.fetch(`${stack.publicUrl}/oauth2/sign_out`, { headers: { ...HTML, 'sec-fetch-site': 'cross-site' } }),
      ],
    ];
    for (const [name, response] of pages) {
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/, name);
      assert.equal(response.headers.get('cache-control'), 'no-store', `${name}: cache-control`);
      assert.ok(frameProtected(response), `${name} (${response.status}) can be framed by another site`);
    }
  });

  it('the error page shows request data and a provider error as text only', async () => {
    const signedIn = await stack.signIn('corp', 'bob');
    const denied = await signedIn.fetch(`${stack.publicUrl}/closed/${encodeURIComponent(PAYLOAD)}?q=${encodeURIComponent(PAYLOAD)}`, {
      headers: { ...HTML, referer: PAYLOAD.replace(/[^\x20-\x7e]/g, ''), 'x-request-id': '<b>x</b>' },
    });
    assert.equal(denied.status, 403);
    assertInert(await denied.text(), 'denied page');

    // The provider's own words for a cancel, in the user's own login (its transaction and iss).
    const browser = new BrowserClient();
    const { callbackUrl } = await browser.login(`${stack.publicUrl}/oauth2/start?provider=partners&rd=/x`, 'alice', { stopAtCallback: true });
    const answer = new URL(callbackUrl);
    answer.searchParams.delete('code');
    answer.searchParams.set('error', 'access_denied');
    answer.searchParams.set('error_description', PAYLOAD);
    const cancelled = await browser.fetch(answer, { headers: HTML });
    assert.equal(cancelled.status, 401);
    const html = await cancelled.text();
    assertInert(html, 'cancel page');
    assert.match(html, /&lt;img src&#x3D;x onerror&#x3D;alert\(1\)&gt;\{\{title\}\}/, 'the words are shown, escaped');
  });
});

/** No markup, template or script URL from the payload survives unescaped. */
function assertInert(html: string, what: string): void {
  assert.doesNotMatch(html, /<img src=x|<b>x<\/b>|href="javascript:/i, `${what}: markup from the request`);
  assert.doesNotMatch(html, /<(?!\/?(?:html|head|meta|title|style|body|main|header|span|img|h1|p|strong|code|ul|li|a|footer|!doctype)\b)/i, `${what}: an unexpected tag`);
}
