/**
 * The route table: longest path prefix wins, on segment boundaries; at the same prefix a host-specific
 * upstream beats an any-host one; matching ignores case, the Host header's port (when the upstream names
 * none) and `;params`; stripPrefix removes the prefix's segments from what the upstream receives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchUpstream, upstreamPath } from '../../src/proxy/upstreams.js';
import { buildTable } from './route-fixtures.js';

function nameOf(table: ReturnType<typeof buildTable>, host: string | undefined, path: string): string | undefined {
  return matchUpstream(table, host, path)?.name;
}

describe('route table: longest prefix wins', () => {
  const table = buildTable([
    { name: 'root', path: '/' },
    { name: 'api', path: '/api' },
    { name: 'api-v2', path: '/api/v2' },
    { name: 'api-v2-admin', path: '/api/v2/admin' },
  ]);
  const cases: [path: string, name: string][] = [
    ['/', 'root'],
    ['/other', 'root'],
    ['/api', 'api'],
    ['/api/', 'api'],
    ['/api/v1/users', 'api'],
    ['/api/v2', 'api-v2'],
    ['/api/v2/users', 'api-v2'],
    ['/api/v2/admin', 'api-v2-admin'],
    ['/api/v2/admin/x/y', 'api-v2-admin'],
    ['/api/v2admin', 'api'],
    ['/api/v20', 'api'],
  ];
  for (const [path, name] of cases) {
    it(`${path} → ${name}`, () => {
      assert.equal(nameOf(table, 'app.example.com', path), name);
    });
  }

  it('the order in the configuration does not matter', () => {
    const reversed = buildTable([
      { name: 'api-v2-admin', path: '/api/v2/admin' },
      { name: 'root', path: '/' },
      { name: 'api-v2', path: '/api/v2' },
      { name: 'api', path: '/api' },
    ]);
    for (const [path, name] of cases) assert.equal(nameOf(reversed, 'app.example.com', path), name, path);
  });
});

describe('route table: segment boundaries', () => {
  const table = buildTable([
    { name: 'public', path: '/public', auth: 'public' },
    { name: 'root', path: '/' },
  ]);
  const cases: [path: string, name: string][] = [
    ['/public', 'public'],
    ['/public/', 'public'],
    ['/public/x', 'public'],
    ['/public/x/y.css', 'public'],
    ['/publicity', 'root'],
    ['/public-x', 'root'],
    ['/public.html', 'root'],
    ['/publi', 'root'],
    ['/x/public', 'root'],
  ];
  for (const [path, name] of cases) {
    it(`${path} → ${name}`, () => {
      assert.equal(nameOf(table, undefined, path), name);
    });
  }

  it('without a root upstream, a path outside every prefix matches nothing', () => {
    const onlyPublic = buildTable([{ name: 'public', path: '/public' }]);
    assert.equal(matchUpstream(onlyPublic, undefined, '/publicity'), undefined);
    assert.equal(matchUpstream(onlyPublic, undefined, '/'), undefined);
  });
});

describe('route table: a prefix configured with a trailing slash', () => {
  const table = buildTable([
    { name: 'docs', path: '/docs/' },
    { name: 'root', path: '/' },
  ]);
  const cases: [path: string, name: string][] = [
    ['/docs', 'docs'],
    ['/docs/', 'docs'],
    ['/docs/intro', 'docs'],
    ['/docsearch', 'root'],
  ];
  for (const [path, name] of cases) {
    it(`${path} → ${name}`, () => {
      assert.equal(nameOf(table, undefined, path), name);
    });
  }
});

describe('route table: hosts', () => {
  const table = buildTable([
    { name: 'any-root', path: '/' },
    { name: 'any-api', path: '/api' },
    { name: 'admin-host-api', path: '/api', host: 'admin.example.com' },
    { name: 'admin-host-root', path: '/', host: 'Admin.Example.com' },
    { name: 'admin-host-long', path: '/api/internal/reports', host: 'admin.example.com' },
    { name: 'any-long', path: '/api/internal' },
    { name: 'port-host', path: '/', host: 'ported.example.com:8443' },
  ]);
  const cases: [name: string, host: string | undefined, path: string, want: string][] = [
    ['host-specific beats any-host at the same prefix', 'admin.example.com', '/api/x', 'admin-host-api'],
    ['host-specific root beats any-host root', 'admin.example.com', '/x', 'admin-host-root'],
    ['another host gets the any-host upstream', 'app.example.com', '/api/x', 'any-api'],
    ['no Host header gets the any-host upstream', undefined, '/api/x', 'any-api'],
    ['a longer any-host prefix beats a shorter host-specific one', 'admin.example.com', '/api/internal/x', 'any-long'],
    ['the longest host-specific prefix still wins over everything shorter', 'admin.example.com', '/api/internal/reports/1', 'admin-host-long'],
    ['Host with a port matches a host configured without one', 'admin.example.com:8443', '/api/x', 'admin-host-api'],
    ['Host with port 443 matches too', 'admin.example.com:443', '/x', 'admin-host-root'],
    ['Host compares case-insensitively', 'ADMIN.EXAMPLE.COM', '/api/x', 'admin-host-api'],
    ['configured host compares case-insensitively', 'admin.example.com', '/', 'admin-host-root'],
    ['a host that only starts like the configured one does not match', 'admin.example.com.evil.com', '/api/x', 'any-api'],
    ['a subdomain of the configured host does not match', 'x.admin.example.com', '/api/x', 'any-api'],
    ['a host configured with a port matches that port', 'ported.example.com:8443', '/x', 'port-host'],
    ['a host configured with a port does not match another port', 'ported.example.com:9443', '/x', 'any-root'],
    ['a host configured with a port does not match no port', 'ported.example.com', '/x', 'any-root'],
  ];
  for (const [name, host, path, want] of cases) {
    it(`${name} (${String(host)} ${path} → ${want})`, () => {
      assert.equal(nameOf(table, host, path), want);
    });
  }
});

describe('route table: case and ;params', () => {
  const table = buildTable([
    { name: 'root', path: '/', auth: 'public' },
    { name: 'admin', path: '/admin' },
    { name: 'reports', path: '/Reports/Q1' },
  ]);
  const cases: [path: string, name: string][] = [
    ['/admin', 'admin'],
    ['/ADMIN', 'admin'],
    ['/Admin/users', 'admin'],
    ['/aDmIn/', 'admin'],
    ['/reports/q1', 'reports'],
    ['/REPORTS/Q1/x', 'reports'],
    ['/admin;jsessionid=1/x', 'admin'],
    ['/admin;jsessionid=1', 'admin'],
    ['/admin;/x', 'admin'],
    ['/ADMIN;x=1;y=2/z', 'admin'],
    ['/reports;a=b/q1;c=d/x', 'reports'],
    ['/adminx;y', 'root'],
  ];
  for (const [path, name] of cases) {
    it(`${path} → ${name}`, () => {
      assert.equal(nameOf(table, undefined, path), name);
    });
  }
});

describe('upstreamPath', () => {
  const table = buildTable([
    { name: 'api', path: '/api', stripPrefix: true },
    { name: 'deep', path: '/a/b/', stripPrefix: true },
    { name: 'kept', path: '/kept' },
    { name: 'root', path: '/', stripPrefix: true },
  ]);
  const cases: [path: string, upstream: string, forwarded: string][] = [
    ['/api/v1/x', 'api', '/v1/x'],
    ['/api', 'api', '/'],
    ['/api/', 'api', '/'],
    ['/api/v1/', 'api', '/v1/'],
    ['/API/v1/x', 'api', '/v1/x'],
    ['/api;p=1/v1', 'api', '/v1'],
    ['/a/b/c/d', 'deep', '/c/d'],
    ['/a/b', 'deep', '/'],
    ['/kept/x', 'kept', '/kept/x'],
    ['/kept', 'kept', '/kept'],
    ['/x/y', 'root', '/x/y'],
    ['/', 'root', '/'],
  ];
  for (const [path, upstream, forwarded] of cases) {
    it(`${path} via ${upstream} → ${forwarded}`, () => {
      const match = matchUpstream(table, undefined, path);
      assert.ok(match);
      assert.equal(match.name, upstream);
      assert.equal(upstreamPath(match, path), forwarded);
    });
  }
});
