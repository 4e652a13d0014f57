/**
 * Attacks on the route step: spellings of a protected path meant to be judged under a weaker route, and
 * identity headers a client sends itself. The route step is the gateway's own (routeRequest, which its
 * rewriteUrl calls); every spelling must either be refused (400) or reach the protected upstream, never the
 * public one.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { isSpoofableIdentityHeader, stripIdentityHeaders } from '../../src/proxy/headers.js';
import { routeRequest } from '../../src/proxy/route-request.js';
import { buildTable } from './route-fixtures.js';

// Both upstreams point at the same backend (the fixture's default url), the usual shape of "a public area
// inside a protected app": whatever the public route forwards, that backend resolves on its own.
const table = buildTable([
  { name: 'public', path: '/public', auth: 'public' },
  { name: 'admin', path: '/admin', auth: 'required', allow: { groups: ['admins'] } },
  { name: 'root', path: '/', auth: 'public' },
  { name: 'at-admin', path: '/@admin', allow: { groups: ['admins'] } },
  { name: 'odata', path: '/odata/$metadata', allow: { groups: ['admins'] } },
  { name: 'cafe', path: '/café', allow: { groups: ['admins'] } },
  { name: 'spaced', path: '/a b', allow: { groups: ['admins'] } },
  { name: 'literal-percent', path: '/%2540admin', allow: { groups: ['admins'] } },
]);

/** The gateway's route step: null when refused with 400, else the matched upstream's name and what it receives. */
function route(rawUrl: string, host = 'app.example.com'): { upstream: string | undefined; forwarded: string } | null {
  const decision = routeRequest(table, rawUrl, host);
  if (decision.refusal) return null;
  return { upstream: decision.upstream?.name, forwarded: decision.upstream ? decision.target : decision.path };
}

/** What Node gives for a request line carrying these UTF-8 bytes raw: one latin1 char per byte. */
const rawBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('path spellings meant to reach /admin through the public route', () => {
  const attacks: string[] = [
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2E/admin/x',
    '/public/.%2e/admin',
    '/public/..%2fadmin',
    '/public/..%2Fadmin',
    '/public/..%5cadmin',
    '/public/..\\admin',
    '/public//../admin',
    '/PUBLIC/../ADMIN',
    '/public;/../admin',
    '/public;x=1/../admin',
    '/admin;x=1',
    '/Admin',
    '/%41dmin',
    '//admin',
    '/./admin',
    '/public/./../admin',
    '/public/x/../../admin',
    '/public/%2e%2e/%2e%2e/admin',
    '/public/../admin?x=/public',
    // Tomcat, Jetty and Spring drop `;params` before resolving dot segments, so they read `..;` as `..`:
    // the upstream would serve /admin while the gateway judged the request under /public.
    '/public/..;/admin',
    '/public/..;jsessionid=1/admin',
    '/public/%2e%2e;/admin',
    '/public/.%2e;x/admin',
  ];
  for (const raw of attacks) {
    it(`${raw} is refused or routed to admin`, () => {
      const result = route(raw);
      if (result === null) return;
      assert.equal(result.upstream, 'admin', `routed to ${String(result.upstream)} as ${result.forwarded}`);
    });
  }

  it('an encoded slash is refused outright, not decoded', () => {
    assert.equal(route('/public/..%2fadmin'), null);
    assert.equal(route('/public/..%2Fadmin'), null);
  });

  it('the path judged under admin is the path the admin upstream receives (no dot segments left)', () => {
    for (const raw of ['/public/../admin', '/public/%2E%2E/admin/x', '/./admin', '//admin']) {
      const result = route(raw);
      assert.ok(result);
      assert.match(result.forwarded, /^\/admin(\/|$)/i, raw);
    }
  });

  it('paths that really are public stay public', () => {
    for (const raw of ['/public', '/public/', '/public/app.css', '/PUBLIC/x', '/public;x=1/y', '/admin/../public/x']) {
      assert.equal(route(raw)?.upstream, 'public', raw);
    }
  });

  it('a path under public that only names admin inside it stays public', () => {
    assert.deepEqual(route('/public/admin'), { upstream: 'public', forwarded: '/public/admin' });
  });
});

describe('escaped spellings of prefixes with characters outside the unreserved set', () => {
  const cases: [raw: string, upstream: string, forwarded: string][] = [
    ['/@admin/x', 'at-admin', '/@admin/x'],
    ['/%40admin/x', 'at-admin', '/@admin/x'],
    ['/%40ADMIN', 'at-admin', '/@ADMIN'],
    ['/public/../%40admin', 'at-admin', '/@admin'],
    ['/odata/%24metadata', 'odata', '/odata/$metadata'],
    ['/ODATA/%24Metadata;x=1', 'odata', '/ODATA/$Metadata;x=1'],
    ['/odata/%24%6detadata', 'odata', '/odata/$metadata'],
    [rawBytes('/café'), 'cafe', '/caf%C3%A9'],
    [rawBytes('/café/x'), 'cafe', '/caf%C3%A9/x'],
    ['/caf%C3%A9/x', 'cafe', '/caf%C3%A9/x'],
    ['/caf%c3%a9', 'cafe', '/caf%C3%A9'],
    ['/CAF%C3%89', 'cafe', '/CAF%C3%89'],
    ['/a%20b/x', 'spaced', '/a%20b/x'],
    // %25 is "%": /%2540admin is the path /%40admin, another path than /@admin, and goes upstream as sent.
    ['/%2540admin', 'literal-percent', '/%2540admin'],
    ['/%2540ADMIN/x', 'literal-percent', '/%2540ADMIN/x'],
  ];
  for (const [raw, upstream, forwarded] of cases) {
    it(`${JSON.stringify(raw)} → ${upstream} as ${forwarded}`, () => {
      assert.deepEqual(route(raw), { upstream, forwarded });
    });
  }

  it('bytes that are not UTF-8 are refused, raw or escaped', () => {
    // '\u00e9' is é as one latin1 byte (E9), not its UTF-8 bytes; C0 40 and C0 AE are overlong "@" and ".".
    const raws = ['/caf%C3', '/caf\u00c3', '/caf\u00e9', '/caf%E9', '/%C0%40admin', '/%FF/admin', '/%C0%AE%C0%AE/admin'];
    for (const raw of raws) assert.equal(route(raw), null, raw);
  });
});

describe('isSpoofableIdentityHeader', () => {
  const cases: [name: string, spoofable: boolean][] = [
    ['X-Forwarded-User', true],
    ['x-forwarded-user', true],
    ['x_forwarded_user', true],
    ['X-FORWARDED-EMAIL', true],
    ['x-forwarded_groups', true],
    ['X-Forwarded-Preferred-Username', true],
    ['x_forwarded_preferred_username', true],
    ['X-Forwarded-Access-Token', true],
    ['X-Auth-Request-Whatever', true],
    ['x-auth-request-user', true],
    ['x_auth_request_user', true],
    ['X_AUTH_REQUEST_ACCESS_TOKEN', true],
    ['X-Forwarded-For', false],
    ['X-Forwarded-Proto', false],
    ['X-Forwarded-Host', false],
    ['X-Forwarded-Port', false],
    ['Authorization', false],
    ['Cookie', false],
    ['X-Request-Id', false],
    ['X-Forwarded-Username', false],
  ];
  for (const [name, spoofable] of cases) {
    it(`${name} → ${String(spoofable)}`, () => {
      assert.equal(isSpoofableIdentityHeader(name), spoofable);
    });
  }
});

describe('stripIdentityHeaders', () => {
  it('removes every spoofed identity header and keeps the rest', () => {
    // Node lower-cases header names but keeps underscores, so both spellings arrive as separate keys.
    const headers: IncomingHttpHeaders = {
      host: 'app.example.com',
      'x-forwarded-user': 'admin',
      x_forwarded_user: 'admin',
      'x-forwarded-email': 'admin@example.com',
      'x-forwarded_groups': 'admins',
      'x-forwarded-preferred-username': 'admin',
      'x-forwarded-access-token': 'forged',
      'x-auth-request-user': 'admin',
      'x-auth-request-whatever': 'x',
      x_auth_request_email: 'admin@example.com',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      authorization: 'Bearer client-token',
      cookie: 'app=1',
      'x-request-id': 'abc',
      accept: 'text/html',
    };
    stripIdentityHeaders(headers);
    assert.deepEqual(headers, {
      host: 'app.example.com',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      authorization: 'Bearer client-token',
      cookie: 'app=1',
      'x-request-id': 'abc',
      accept: 'text/html',
    });
  });

  it('removes array-valued (repeated) identity headers', () => {
    const headers: IncomingHttpHeaders = { 'x-auth-request-groups': ['a', 'b'], accept: '*/*' };
    stripIdentityHeaders(headers);
    assert.deepEqual(headers, { accept: '*/*' });
  });

  it('leaves a headers object without identity headers unchanged', () => {
    const headers: IncomingHttpHeaders = { host: 'h', 'x-forwarded-for': '1.2.3.4' };
    stripIdentityHeaders(headers);
    assert.deepEqual(headers, { host: 'h', 'x-forwarded-for': '1.2.3.4' });
  });
});
