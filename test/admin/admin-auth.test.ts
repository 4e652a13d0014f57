/**
 * Who may use the admin API, and where it answers: a valid bearer token on admin.listen only. No token, a
 * wrong one or another scheme get 401 with WWW-Authenticate; each of the tokens works and the log names
 * it by position, never by value; the main listener never serves /admin/* (metricsListen: admin-replicas.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKENS, startAdminStack, type AdminStack } from './admin-fixtures.js';

describe('admin API authorization', () => {
  let s: AdminStack;
  before(async () => {
    s = await startAdminStack();
  });
  after(() => s?.close());

  for (const [label, authorization] of [
    ['no Authorization header', ''],
    ['a wrong token', 'Bearer not-the-admin-token-0123456789'],
    ['a token with one character changed', `Bearer ${ADMIN_TOKENS[0].slice(0, -1)}X`],
    ['a right token under another scheme', `Basic ${ADMIN_TOKENS[0]}`],
    ['a right token with something after it', `Bearer ${ADMIN_TOKENS[0]} extra`],
  ] as const) {
    it(`refuses ${label} with 401 and WWW-Authenticate`, async () => {
      for (const [method, path] of [['GET', '/admin/sessions?user=alice'], ['DELETE', '/admin/sessions?user=alice'], ['DELETE', '/admin/sessions/abcdefghijklmnopqrstuvwxyz012345'], ['GET', '/admin/nothing']]) {
        const response = await s.admin(method, path, { authorization });
        assert.equal(response.status, 401, `${method} ${path}`);
        assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="authgate admin"$/);
        assert.equal(((await response.json()) as { error: string }).error, 'unauthorized');
      }
    });
  }

  it('accepts each token (the scheme in any case) and logs the token by its position only', async () => {
    const zero = await s.admin('DELETE', '/admin/sessions?user=nobody-zero', { authorization: `bearer ${ADMIN_TOKENS[0]}` });
    assert.equal(zero.status, 200);
    const one = await s.admin('DELETE', '/admin/sessions?user=nobody-one', 1);
    assert.equal(one.status, 200);
    const actions = s.stack.gateway.logEntries().filter((entry) => entry.msg === 'admin action');
    assert.deepEqual(
      actions.filter((entry) => String(entry.user).startsWith('nobody-')).map((entry) => [entry.tokenIndex, entry.action, entry.user, entry.count]),
      [
        [0, 'end-user-sessions', 'nobody-zero', 0],
        [1, 'end-user-sessions', 'nobody-one', 0],
      ],
      'one line per action: which token, what, for whom, how many',
    );
    const logs = s.stack.gateway.logs.join('\n');
    for (const token of ADMIN_TOKENS) assert.ok(!logs.includes(token), 'no admin token in the log');
    assert.ok(!logs.includes('not-the-admin-token'), 'no refused token in the log either');
  });

  it('answers 400 without a user, 404 for an unknown admin path', async () => {
    assert.equal((await s.admin('DELETE', '/admin/sessions')).status, 400);
    assert.equal((await s.admin('GET', '/admin/sessions?user=')).status, 400);
    assert.equal((await s.admin('GET', '/admin/other')).status, 404);
  });

  it('never serves /admin/* on the main listener: it is an ordinary upstream path there', async () => {
    // Signed out: the guard sends a browser to sign in, as for any protected path.
    const anonymous = await fetch(`${s.stack.publicUrl}/admin/sessions?user=alice`, {
      headers: { authorization: `Bearer ${ADMIN_TOKENS[0]}`, accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(anonymous.status, 302);
    assert.ok((anonymous.headers.get('location') ?? '').startsWith(s.stack.idp.issuer), 'to the provider to sign in');
    // Signed in: the request reaches the upstream app.
    const alice = await s.stack.signIn('alice');
    const before = s.stack.upstream.requests.length;
    const proxied = await alice.fetch(`${s.stack.publicUrl}/admin/sessions?user=alice`, { method: 'DELETE' });
    assert.equal(proxied.status, 200);
    const seen = s.stack.upstream.requests.slice(before).map((request) => `${request.method} ${request.url}`);
    assert.deepEqual(seen, ['DELETE /admin/sessions?user=alice'], 'the upstream got it, the admin API did not');
    assert.ok(!s.stack.gateway.logEntries().some((entry) => entry.msg === 'admin action' && entry.user === 'alice'));
  });
});
