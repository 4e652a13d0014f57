/**
 * Every error page says what happened in words, who is signed in, the ways on (sign in again with the
 * original target kept, try again, home) and the request id, the same id the access log and the upstream
 * got. A cancel at the provider is a 401 page that keeps the target, not an application 403.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { accessLine, actionsOf, cancelAtProvider, configurePages, escaped, MALLORY, requestIdOf } from './page-fixtures.js';

describe('error pages', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (tree) => {
        configurePages(tree);
        tree.upstreams.push({ name: 'slow', path: '/slow', url: tree.upstreams.at(-1)?.url, timeout: '300ms' });
      },
    });
    stack.idp.addUser(MALLORY);
  });
  after(() => stack.close());

  it('a policy denial (403) names the signed-in user, keeps the target for a new sign-in, and shows the logged request id', async () => {
    const bob = await stack.signIn('bob');
    const response = await bob.fetch(`${stack.publicUrl}/admin/reports?q=1`);
    assert.equal(response.status, 403);
    const html = await response.text();
    assert.match(html, /<span class="status">403<\/span> Access denied/);
    assert.match(html, /your account is not allowed to use this application/);
    assert.doesNotMatch(html, /not-in-group/, 'no reason code on the page');
    assert.match(html, /Signed in as <strong>bob<\/strong> \(bob@example\.org\)/);
    const actions = actionsOf(html);
    assert.equal(actions.get(escaped('/oauth2/start?rd=%2Fadmin%2Freports%3Fq%3D1')), 'Sign in again');
    assert.equal(actions.get('/oauth2/sign_out'), 'Sign in as someone else');
    assert.equal(actions.get('/'), 'Go to the home page');
    const id = requestIdOf(html);
    assert.ok(id);
    assert.equal(accessLine(stack, id)?.status, 403, 'the page shows the id the access log has');
  });

  it('JSON clients still get the code and message they got before', async () => {
    const bob = await stack.signIn('bob');
    const response = await bob.fetch(`${stack.publicUrl}/admin`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), {
      error: 'AUTHGATE_ERR_FORBIDDEN',
      message: 'You are signed in, but not allowed to use this application (not-in-group).',
    });
  });

  it('the user is shown escaped', async () => {
    const mallory = await stack.signIn('mallory');
    const html = await (await mallory.fetch(`${stack.publicUrl}/admin`)).text();
    assert.ok(html.includes(`Signed in as <strong>${escaped(MALLORY.preferredUsername)}</strong>`), html);
    assert.ok(!html.includes('<img src=x'), 'the name is not HTML');
  });

  it('an upstream that does not answer (504) says so, offers a retry of the same address, and shows the id the upstream got', async () => {
    const alice = await stack.signIn('alice');
    const held = stack.upstream.hold('/slow');
    const response = await alice.fetch(`${stack.publicUrl}/slow/page?x=1`);
    assert.equal(response.status, 504);
    const html = await response.text();
    assert.match(html, /Application too slow/);
    assert.match(html, /You are still signed in/);
    assert.match(html, /Signed in as <strong>alice<\/strong>/);
    const actions = actionsOf(html);
    assert.equal(actions.get(escaped('/slow/page?x=1')), 'Try again');
    assert.equal(actions.get('/'), 'Go to the home page');
    const upstreamSaw = (await held.arrived).headers['x-request-id'];
    assert.equal(requestIdOf(html), upstreamSaw, 'the page shows the X-Request-Id the upstream received');
    held.release();
  });

  it('an unknown address (404) offers the home page', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/nothing-here`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 404);
    const html = await response.text();
    assert.match(html, /There is no application at this address/);
    assert.deepEqual([...actionsOf(html).keys()], ['/']);
    assert.ok(requestIdOf(html));
  });

  it('a spent sign-in (400) offers a new sign-in', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/callback?state=${'x'.repeat(43)}&code=c`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 400);
    const html = await response.text();
    assert.match(html, /Sign-in expired/);
    assert.equal(actionsOf(html).get(escaped('/oauth2/start?rd=%2F')), 'Sign in again');
  });

  it('a cancel at the provider is a 401 page that keeps the original target', async () => {
    const browser = stack.browser();
    const response = await cancelAtProvider(browser, `${stack.publicUrl}/reports/q3?year=2026`);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    const html = await response.text();
    assert.match(html, /<span class="status">401<\/span> Sign-in cancelled/);
    assert.match(html, /cancelled or refused at the identity provider/);
    assert.match(html, /The identity provider said: access_denied \(End-User aborted interaction\)/);
    assert.doesNotMatch(html, /Signed in as/);
    assert.equal(actionsOf(html).get(escaped('/oauth2/start?rd=%2Freports%2Fq3%3Fyear%3D2026')), 'Sign in again');
    // Following "Sign in again" signs in and lands on the original target.
    const again = await browser.login(`${stack.publicUrl}/oauth2/start?rd=%2Freports%2Fq3%3Fyear%3D2026`, 'alice');
    assert.equal(again.response?.status, 200);
    assert.equal(stack.upstream.last()?.url, '/reports/q3?year=2026');
  });
});
