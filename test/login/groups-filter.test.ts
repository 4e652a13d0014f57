/**
 * `oidc.groupsFilter` keeps only the groups that match it (a regular expression, compiled once): a user of a
 * large directory with thousands of groups signs in with the cookie store, and the upstream, forward-auth and
 * group rules see only the groups that matter here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

const MANY = Array.from({ length: 3000 }, (_, i) => `dir-group-${String(i).padStart(4, '0')}`);
const KEPT = ['app-admins', 'app-staff', 'app-ops'];
const GROUPS = [...MANY.slice(0, 1500), ...KEPT, ...MANY.slice(1500)];
const BIG = { sub: 'carol', email: 'carol@example.com', emailVerified: true, preferredUsername: 'carol', name: 'Carol', groups: GROUPS };

describe('oidc.groupsFilter', () => {
  let stack: Stack;
  let carol: BrowserClient;
  before(async () => {
    stack = await startStack({
      idp: { users: [BIG] },
      configure: (c) => {
        c.oidc.groupsFilter = '^app-\\p{Ll}+$'; // \p{…} needs the 'u' flag
        c.server.trustedProxies = ['127.0.0.1']; // forward-auth believes the test as the proxy
        c.upstreams.push({ name: 'admin', path: '/admin', url: c.upstreams[0]?.url, allow: { groups: ['app-admins'] } });
        c.upstreams.push({ name: 'dir', path: '/dir', url: c.upstreams[0]?.url, allow: { groups: ['dir-group-0001'] } });
      },
    });
  });
  after(() => stack.close());

  it('signs in a user with 3,000 groups with the cookie store', async () => {
    carol = await stack.signIn('carol', '/');
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'carol');
    // The ID token (all 3,000 groups) is not kept: the Cookie header stays under a proxy's 8 KiB line limit.
    const cookie = carol.jar.cookieHeader(`${stack.publicUrl}/`) ?? '';
    assert.ok(cookie.length < 8 * 1024 - 'Cookie: '.length, `Cookie header of ${cookie.length} bytes`);
  });

  it('sends upstream only the groups that match the filter (in the provider order)', async () => {
    const response = await carol.fetch(`${stack.publicUrl}/page`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-groups'], 'app-admins,app-staff,app-ops');
  });

  it('judges group rules on the kept groups only', async () => {
    assert.equal((await carol.fetch(`${stack.publicUrl}/admin/x`, { headers: { accept: 'application/json' } })).status, 200);
    assert.equal((await carol.fetch(`${stack.publicUrl}/dir/x`, { headers: { accept: 'application/json' } })).status, 403);
  });

  it('answers forward-auth and userinfo with the kept groups', async () => {
    const auth = await carol.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { accept: 'application/json', 'x-forwarded-uri': '/' } });
    assert.equal(auth.headers.get('x-auth-request-groups'), 'app-admins,app-staff,app-ops');
    const info = (await (await carol.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } })).json()) as {
      groups: string[];
    };
    assert.deepEqual(info.groups, KEPT);
  });
});
