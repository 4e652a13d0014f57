/**
 * Attacks on the route step: spellings of a protected path meant to be judged under a weaker route, and
 * identity headers a client sends itself. The route step is reproduced exactly as the gateway runs it
 * (normalise the raw target once, then match the normalised path); every spelling must either be refused
 * (400) or reach the protected upstream, never the public one.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { isSpoofableIdentityHeader, stripIdentityHeaders } from '../../src/proxy/headers.js';
import { normaliseTarget } from '../../src/proxy/normalise-path.js';
import { matchUpstream, upstreamPath } from '../../src/proxy/upstreams.js';
import { buildTable } from './route-fixtures.js';

// Both upstreams point at the same backend (the fixture's default url), the usual shape of "a public area
// inside a protected app": whatever the public route forwards, that backend resolves on its own.
const table = buildTable([
  { name: 'public', path: '/public', auth: 'public' },
  { name: 'admin', path: '/admin', auth: 'required', allow: { groups: ['admins'] } },
]);

/** The gateway's route step: null when refused with 400, else the matched upstream's name and what it receives. */
function route(rawUrl: string, host = 'app.example.com'): { upstream: string | undefined; forwarded: string } | null {
  const target = normaliseTarget(rawUrl);
  if (!target) return null;
  const upstream = matchUpstream(table, host, target.path);
  return { upstream: upstream?.name, forwarded: upstream ? upstreamPath(upstream, target.path) : target.path };
}

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
