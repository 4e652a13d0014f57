/**
 * How a protected route answers who may not pass: a signed-out browser navigation is sent to the provider
 * (its URL kept), an API call gets 401 JSON with WWW-Authenticate, a signed-in user outside the allow rule
 * gets 403; allow rules by group, email and email domain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('answers of a protected route', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        const url = c.upstreams[0].url;
        c.upstreams.push(
          { name: 'admin', path: '/admin', url, allow: { groups: ['admins'] } },
          { name: 'org', path: '/org', url, allow: { emailDomains: ['example.org'] } },
          { name: 'alice-only', path: '/alice', url, allow: { emails: ['ALICE@example.com'] } },
        );
      },
    });
  });
  after(() => stack.close());

  it('redirects a signed-out navigation to the provider and keeps the original URL for after login', async () => {
    const browser = stack.browser();
    const response = await browser.fetch(`${stack.publicUrl}/admin/users?page=2`);
    assert.equal(response.status, 302);
    assert.ok(response.headers.get('location')?.startsWith(`${stack.idp.issuer}/auth?`));
    const { visited } = await browser.login(response.headers.get('location') ?? '', 'alice');
    assert.equal(visited.at(-1), `${stack.publicUrl}/admin/users?page=2`);
  });

  for (const [what, init] of [
    ['an API call (Accept: application/json)', { headers: { accept: 'application/json' } }],
    ['a request with Accept: */* only', { headers: { accept: '*/*' } }],
    ['a POST from a browser form', { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }],
  ] as const) {
    it(`answers ${what} with 401 JSON and WWW-Authenticate`, async () => {
      const response = await fetch(`${stack.publicUrl}/api/items`, { ...init, redirect: 'manual' });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.deepEqual(await response.json(), { error: 'unauthenticated' });
    });
  }

  it('answers 403 to a signed-in user outside the group, and lets a member through', async () => {
    const bob = await stack.signIn('bob');
    const denied = await bob.fetch(`${stack.publicUrl}/admin`);
    assert.equal(denied.status, 403);
    const page = await denied.text();
    assert.match(page, /not allowed/);
    assert.match(page, /href="\/oauth2\/sign_out"/, 'the 403 page offers a way to switch user');
    const deniedApi = await bob.fetch(`${stack.publicUrl}/admin`, { headers: { accept: 'application/json' } });
    assert.equal(deniedApi.status, 403);
    assert.equal(((await deniedApi.json()) as { error: string }).error, 'AUTHGATE_ERR_FORBIDDEN');

    const alice = await stack.signIn('alice');
    assert.equal((await alice.fetch(`${stack.publicUrl}/admin`)).status, 200);
  });

  it('applies emailDomains and emails (case-insensitive) rules', async () => {
    const alice = await stack.signIn('alice'); // alice@example.com
    const bob = await stack.signIn('bob'); // bob@example.org
    assert.equal((await alice.fetch(`${stack.publicUrl}/org`)).status, 403);
    assert.equal((await bob.fetch(`${stack.publicUrl}/org`)).status, 200);
    assert.equal((await alice.fetch(`${stack.publicUrl}/alice`)).status, 200);
    assert.equal((await bob.fetch(`${stack.publicUrl}/alice`)).status, 403);
  });

  it('counts decisions by reason in /metrics', async () => {
    const metrics = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(metrics, /authgate_policy_decisions_total\{upstream="admin",reason="not-in-group"\} [1-9]/);
    assert.match(metrics, /authgate_policy_decisions_total\{upstream="app",reason="unauthenticated"\} [1-9]/);
  });
});
