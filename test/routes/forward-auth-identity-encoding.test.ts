/**
 * Forward-auth identity headers never break a request: names and groups in any script (Cyrillic, CJK,
 * Arabic, emoji), with commas, semicolons, quotes, "%" or control characters, give a 202 whose
 * X-Auth-Request-* values percent-decode to the originals, a group with a comma staying one group.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { demoUsers } from '../helpers/idp.js';
import { UNUSUAL_USERS } from './identity-fixtures.js';

/** Decodes one percent-encoded value. */
const decode = (value: string | null) => (value === null ? null : decodeURIComponent(value));
/** Decodes a comma-separated list of percent-encoded items. */
const decodeList = (value: string | null) => (value === null ? null : value.split(',').map((item) => decodeURIComponent(item)));

describe('forward-auth identity headers for names and groups in any script and with separators', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      idp: { users: [...demoUsers, ...UNUSUAL_USERS] },
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        // Sign-in lands on a public page: what the proxied app gets is not this file's subject.
        c.upstreams[0] = { ...c.upstreams[0], name: 'app', path: '/', auth: 'public' };
        c.upstreams.push({ name: 'reports', path: '/reports' }); // forward-auth only
      },
    });
  });
  after(() => stack.close());

  for (const user of UNUSUAL_USERS) {
    it(`${user.sub}: 202, and every X-Auth-Request-* header decodes to the original claim`, async () => {
      const browser = await stack.signIn(user.sub, '/oauth2/start?rd=/');
      const response = await browser.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { 'x-forwarded-uri': '/reports' } });
      assert.equal(response.status, 202, await response.text());
      const headers = response.headers;
      for (const name of ['x-auth-request-user', 'x-auth-request-email', 'x-auth-request-preferred-username', 'x-auth-request-groups']) {
        assert.match(headers.get(name) ?? '', /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, `${name} is printable ASCII without edge spaces`);
      }
      assert.equal(decode(headers.get('x-auth-request-user')), user.sub);
      assert.equal(decode(headers.get('x-auth-request-email')), user.email);
      assert.equal(decode(headers.get('x-auth-request-preferred-username')), user.preferredUsername);
      assert.deepEqual(decodeList(headers.get('x-auth-request-groups')), user.groups);
    });
  }

  it('plain ASCII values are sent as they are (alice)', async () => {
    const browser = await stack.signIn('alice', '/oauth2/start?rd=/');
    const response = await browser.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { 'x-forwarded-uri': '/reports' } });
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('x-auth-request-user'), 'alice');
    assert.equal(response.headers.get('x-auth-request-groups'), 'admins,staff');
  });
});
