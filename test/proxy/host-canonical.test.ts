/**
 * Host names in one canonical form: `SECURE.local`, `secure.local.`, `secure.local.:PORT` and
 * `Secure.Local.` all get the host-specific route's policy (401 / 403 as it says) and, with preserveHost,
 * its upstream receives the canonical host; a configured `Secure.Local.` matches them too. A Host that
 * cannot name a host (`secure.local..`, `a..b`, spaces, userinfo, a bad port) is a 400, and forward-auth
 * never judges one under an any-host route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { rawGet } from '../helpers/raw-http.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { matchUpstream } from '../../src/proxy/upstreams.js';
import { buildTable, parseUpstreams } from './route-fixtures.js';

/** GET with a chosen Host header, asking for JSON. */
const getWithHost = (base: string, path: string, host: string, headers: Record<string, string> = {}) =>
  rawGet(base, path, { host, accept: 'application/json', ...headers });

function cookieOf(browser: BrowserClient): string {
  const cookie = browser.jar.get('authgate');
  assert.ok(cookie, 'signed in');
  return `authgate=${cookie.value}`;
}

const MALFORMED_HOSTS = ['secure.local..', 'a..b', 'x..', '.secure.local', 'secure .local', 'user@secure.local', 'secure.local:99999', 'secure.local:', 'secure.local:8o'];

describe('host names in canonical form, through the gateway', () => {
  let stack: Stack;
  let secure: StartedUpstream;
  let alice: string;
  let bob: string;
  let port: string;
  // Every spelling of the host-specific route's host a client could send.
  const spellings = () => ['secure.local', 'SECURE.local', 'secure.local.', 'Secure.Local.', `secure.local.:${port}`, `SECURE.LOCAL:${port}`];

  before(async () => {
    secure = await startUpstream();
    stack = await startStack({
      configure: (c) => {
        c.server.trustedProxies = ['127.0.0.1/32'];
        // Configured with capitals and a trailing dot: the schema canonicalises it too.
        c.upstreams.push({ name: 'secure', path: '/', host: 'Secure.Local.', url: secure.url, preserveHost: true, allow: { groups: ['admins'] } });
      },
    });
    port = new URL(stack.publicUrl).port;
    alice = cookieOf(await stack.signIn('alice'));
    bob = cookieOf(await stack.signIn('bob'));
  });
  after(async () => {
    await stack.close();
    await secure.close();
  });

  it("every spelling gets the host route's policy: 403 for a user not allowed, 401 signed out", async () => {
    const before = stack.upstream.requests.length;
    for (const host of spellings()) {
      assert.equal((await getWithHost(stack.publicUrl, '/x', host, { cookie: bob })).status, 403, host);
      assert.equal((await getWithHost(stack.publicUrl, '/x', host)).status, 401, host);
    }
    assert.equal(stack.upstream.requests.length, before, 'the any-host upstream received none of them');
    assert.equal(secure.requests.length, 0);
  });

  it('with preserveHost the upstream receives the canonical host, port kept', async () => {
    for (const host of spellings()) {
      assert.equal((await getWithHost(stack.publicUrl, '/x', host, { cookie: alice })).status, 200, host);
      assert.equal(secure.last()?.headers.host, host.includes(':') ? `secure.local:${port}` : 'secure.local', host);
    }
  });

  it('another host still gets the any-host route', async () => {
    assert.equal((await getWithHost(stack.publicUrl, '/x', 'other.local.', { cookie: bob })).status, 200);
    assert.equal(stack.upstream.last()?.url, '/x');
  });

  it('a Host that cannot name a host is a 400, for upstream and gateway paths alike', async () => {
    const before = stack.upstream.requests.length + secure.requests.length;
    for (const host of MALFORMED_HOSTS) {
      const answer = await getWithHost(stack.publicUrl, '/x', host, { cookie: alice });
      assert.equal(answer.status, 400, host);
      assert.match(answer.body, /AUTHGATE_ERR_BAD_REQUEST.*Host header does not name a host/, host);
      assert.equal((await getWithHost(stack.publicUrl, '/oauth2/auth', host, { cookie: alice })).status, 400, `${host} /oauth2/auth`);
    }
    assert.equal(stack.upstream.requests.length + secure.requests.length, before);
  });

  it("forward-auth judges X-Forwarded-Host spellings under the host route, and refuses a malformed one (400 bad-original-host)", async () => {
    const ask = (forwardedHost: string, cookie?: string) =>
      getWithHost(stack.publicUrl, '/oauth2/auth', '127.0.0.1', { 'x-forwarded-uri': '/x', 'x-forwarded-host': forwardedHost, ...(cookie ? { cookie } : {}) });
    for (const host of spellings()) {
      assert.equal((await ask(host, bob)).status, 403, host);
      assert.equal((await ask(host)).status, 401, host);
      assert.equal((await ask(host, alice)).status, 202, host);
    }
    for (const host of MALFORMED_HOSTS) {
      const answer = await ask(host, bob);
      assert.equal(answer.status, 400, host);
      assert.match(answer.body, /bad-original-host/, host);
    }
  });
});

describe('configured hosts in canonical form', () => {
  it('"Secure.Local." is stored as "secure.local" and matches every spelling', () => {
    assert.equal(parseUpstreams([{ name: 'secure', host: 'Secure.Local.' }])[0]?.host, 'secure.local');
    assert.equal(parseUpstreams([{ name: 'secure', host: 'Secure.Local.:8443' }])[0]?.host, 'secure.local:8443');
    const table = buildTable([
      { name: 'any', path: '/' },
      { name: 'secure', path: '/', host: 'Secure.Local.' },
      { name: 'ported', path: '/', host: 'PORTED.local.:8443' },
    ]);
    for (const host of ['secure.local', 'SECURE.LOCAL', 'secure.local.', 'secure.local.:443', 'Secure.Local.:8080']) {
      assert.equal(matchUpstream(table, host, '/x')?.name, 'secure', host);
    }
    assert.equal(matchUpstream(table, 'ported.local.:8443', '/x')?.name, 'ported');
    assert.equal(matchUpstream(table, 'ported.local:8443', '/x')?.name, 'ported');
    assert.equal(matchUpstream(table, 'ported.local.:9443', '/x')?.name, 'any');
    for (const host of MALFORMED_HOSTS) assert.equal(matchUpstream(table, host, '/x'), undefined, host);
  });

  it('a configured host that cannot name a host is a configuration error', () => {
    for (const host of ['a..b', 'secure.local..', 'x:99999']) {
      assert.throws(() => parseUpstreams([{ name: 'bad', host }]), /not a host name|host name such as/, host);
    }
  });

  it('two upstreams whose hosts differ only in spelling are one route (a configuration error)', () => {
    assert.throws(
      () =>
        parseUpstreams([
          { name: 'a', path: '/x', host: 'secure.local' },
          { name: 'b', path: '/X/', host: 'Secure.Local.' },
        ]),
      /already has this host and path/,
    );
  });
});
