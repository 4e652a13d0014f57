/**
 * One test per template variable: a pages.dir whose templates print every variable of their view, each in
 * its own element, reached through real HTTP (the sign-in page through its render function, its route being
 * the providers' work). Each value is hostile where the gateway lets it be (HTML, quotes, `=`, Handlebars
 * braces) and must come out escaped, never as markup and never evaluated again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPages } from '../../src/pages/load-pages.js';
import { renderSignIn } from '../../src/pages/render.js';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { configurePages, escaped, HOSTILE, MALLORY } from './page-fixtures.js';

const COMMON = ['title', 'logo', 'footer', 'requestId'];
const dump = (names: string[]) => names.map((name) => `<x-var name="${name}">{{${name}}}</x-var>`).join('\n');

/** Templates that show every variable of their page. */
const TEMPLATES = {
  'error.html': `${dump([...COMMON, 'status', 'heading', 'message', 'detail', 'user', 'email', 'target'])}
{{#each actions}}<x-action href="{{href}}">{{text}}</x-action>{{/each}}`,
  'signed_out.html': dump([...COMMON, 'signInHref']),
  'sign_in.html': `${dump([...COMMON, 'target'])}
{{#each providers}}<x-provider id="{{id}}" href="{{href}}">{{name}}</x-provider>{{/each}}`,
};

/** The text of `<x-var name="NAME">` in a page. */
function variable(html: string, name: string): string | undefined {
  return new RegExp(`<x-var name="${name}">(.*?)</x-var>`, 's').exec(html)?.[1];
}

describe('template variables', () => {
  let stack: Stack;
  let dir: string;
  let mallory: BrowserClient;
  let denied: string;
  let cancelled: string;
  let signedOut: string;
  const TARGET = "/reports/it's=ok";
  const REQUEST_ID = 'proxy-id=1/+x';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'authgate-pages-'));
    for (const [file, text] of Object.entries(TEMPLATES)) writeFileSync(join(dir, file), text);
    stack = await startStack({
      configure: (tree) => {
        configurePages(tree, { dir });
        tree.server.trustedProxies = ['127.0.0.1'];
      },
    });
    stack.idp.addUser(MALLORY);
    mallory = await stack.signIn('mallory');
    denied = await (await mallory.fetch(`${stack.publicUrl}/admin${TARGET.slice('/reports'.length)}`, { headers: { 'x-request-id': REQUEST_ID } })).text();
    // A provider error whose description is hostile, for a login whose target is TARGET.
    const browser = stack.browser();
    const start = await browser.fetch(`${stack.publicUrl}/oauth2/start?rd=${encodeURIComponent(TARGET)}`);
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const callback = new URL(`${stack.publicUrl}/oauth2/callback`);
    callback.search = new URLSearchParams({ state, error: 'access_denied', error_description: HOSTILE, iss: stack.idp.issuer }).toString();
    cancelled = await (await browser.fetch(callback)).text();
    signedOut = await (await fetch(`${stack.publicUrl}/oauth2/signed_out`, { headers: { 'x-request-id': REQUEST_ID } })).text();
  });
  after(() => stack.close());

  it('title: the product name, escaped, on every page', () => {
    for (const html of [denied, cancelled, signedOut]) assert.equal(variable(html, 'title'), escaped(`Acme ${HOSTILE}`));
    assert.ok(!denied.includes('<script>'), 'no markup got through');
    assert.ok(denied.includes('{{title}}'), 'braces in a value are text, not a template');
  });

  it('logo: the configured URL, escaped', () => {
    assert.equal(variable(signedOut, 'logo'), escaped('/static/logo.svg?x="1"'));
  });

  it('footer: the configured text, escaped', () => {
    assert.equal(variable(signedOut, 'footer'), escaped(`Footer ${HOSTILE}`));
  });

  it("requestId: the request's id (a trusted proxy's kept), escaped", () => {
    assert.equal(variable(denied, 'requestId'), escaped(REQUEST_ID));
    assert.equal(variable(signedOut, 'requestId'), escaped(REQUEST_ID));
    assert.match(variable(cancelled, 'requestId') ?? '', /\S/);
  });

  it('status: the HTTP status', () => {
    assert.equal(variable(denied, 'status'), '403');
    assert.equal(variable(cancelled, 'status'), '401');
  });

  it('heading: a short title of what happened', () => {
    assert.equal(variable(denied, 'heading'), 'Access denied');
    assert.equal(variable(cancelled, 'heading'), 'Sign-in cancelled');
  });

  it('message: a sentence without reason codes', () => {
    assert.match(variable(denied, 'message') ?? '', /not allowed to use this application/);
    assert.doesNotMatch(variable(denied, 'message') ?? '', /not-in-group/);
  });

  it("detail: the provider's own words, escaped", () => {
    assert.equal(variable(cancelled, 'detail'), escaped(`The identity provider said: access_denied (${HOSTILE})`));
    assert.equal(variable(denied, 'detail'), '');
  });

  it('user: who is signed in, escaped; empty when nobody is', () => {
    assert.equal(variable(denied, 'user'), escaped(MALLORY.preferredUsername));
    assert.equal(variable(cancelled, 'user'), '');
  });

  it("email: the signed-in user's email", () => {
    assert.equal(variable(denied, 'email'), MALLORY.email);
  });

  it('target: the same-origin path a new sign-in returns to, escaped', () => {
    assert.equal(variable(cancelled, 'target'), escaped(TARGET));
    assert.equal(variable(denied, 'target'), escaped("/admin/it's=ok"));
  });

  it('actions: href and text of each way on, escaped', () => {
    const actions = [...cancelled.matchAll(/<x-action href="([^"]*)">([^<]*)<\/x-action>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(actions, [
      [escaped(`/oauth2/start?rd=${encodeURIComponent(TARGET)}`), 'Sign in again'],
      ['/', 'Go to the home page'],
    ]);
  });

  it('signInHref: the signed-out page links to a new sign-in', () => {
    assert.equal(variable(signedOut, 'signInHref'), escaped('/oauth2/start?rd=%2F'));
  });

  it('providers (id, name, href) and target on the sign-in page, escaped', () => {
    const pages = loadPages({ dir, title: HOSTILE, logo: '', footer: '' }, stack.publicUrl);
    const html = renderSignIn(pages, {
      providers: [{ id: 'corp', name: `Corp ${HOSTILE}`, href: '/oauth2/start?provider=corp&rd=%2F"x' }],
      target: TARGET,
      requestId: 'r1',
    });
    assert.ok(html.includes(`<x-provider id="corp" href="${escaped('/oauth2/start?provider=corp&rd=%2F"x')}">${escaped(`Corp ${HOSTILE}`)}</x-provider>`), html);
    assert.equal(variable(html, 'target'), escaped(TARGET));
    assert.equal(variable(html, 'title'), escaped(HOSTILE));
    assert.equal(variable(html, 'requestId'), 'r1');
  });
});
