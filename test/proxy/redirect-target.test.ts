/**
 * The post-login redirect target (`rd`): a path or an absolute URL on publicUrl's origin comes back as a
 * path (with query and fragment); everything that a browser could read as another origin (scheme-relative,
 * backslashes, tabs and newlines, userinfo tricks, other schemes or hosts) becomes "/".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeRedirectTarget } from '../../src/session/transaction.js';

const PUBLIC_URL = 'https://app.example.com';

describe('safeRedirectTarget: accepted targets', () => {
  const cases: [rd: string, want: string][] = [
    ['/', '/'],
    ['/reports', '/reports'],
    ['/reports?year=2026', '/reports?year=2026'],
    ['/reports?year=2026&q=a%20b#top', '/reports?year=2026&q=a%20b#top'],
    ['/reports#section-2', '/reports#section-2'],
    ['/a/b/?next=//evil.com', '/a/b/?next=//evil.com'],
    ['https://app.example.com/reports?x=1#y', '/reports?x=1#y'],
    ['https://app.example.com', '/'],
    ['https://app.example.com:443/x', '/x'],
    ['https://APP.EXAMPLE.COM/x', '/x'],
    ['HTTPS://App.Example.Com:443/x?y=1', '/x?y=1'],
    ['/a/../b', '/b'],
  ];
  for (const [rd, want] of cases) {
    it(`${rd} → ${want}`, () => {
      assert.equal(safeRedirectTarget(rd, PUBLIC_URL), want);
    });
  }
});

describe('safeRedirectTarget: refused targets become "/"', () => {
  const cases: [name: string, rd: unknown][] = [
    ['scheme-relative', '//evil.com'],
    ['scheme-relative with path', '//evil.com/app.example.com'],
    ['triple slash', '///evil.com'],
    ['slash backslash', '/\\evil.com'],
    ['backslash slash', '\\/evil.com'],
    ['double backslash', '\\\\evil.com'],
    // Browsers read a backslash as "/"; none is ever passed on, even where it would land on our origin.
    ['a backslash anywhere', '/reports\\2026'],
    ['another origin', 'https://evil.com'],
    ['another origin with our path', 'https://evil.com/reports'],
    ['our host as a prefix of theirs', 'https://app.example.com.evil.com/'],
    ['our host as userinfo', 'https://app.example.com@evil.com/'],
    ['our host as userinfo with a port', 'https://app.example.com:443@evil.com/'],
    ['same host, other scheme', 'http://app.example.com/x'],
    ['same host, other port', 'https://app.example.com:8443/x'],
    ['a subdomain', 'https://x.app.example.com/'],
    ['https with an empty authority', 'https:///evil.com'],
    ['javascript:', 'javascript:alert(1)'],
    ['JavaScript: in mixed case', 'JavaScript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['tab between slashes', '/\t/evil.com'],
    ['leading tab', '\t//evil.com'],
    ['newline between slashes', '/\n/evil.com'],
    ['carriage return between slashes', '/\r/evil.com'],
    ['CRLF header injection', '/x\r\nSet-Cookie: a=b'],
    ['NUL', '/x\u0000'],
    ['DEL', '/\u007f/evil.com'],
    ['empty', ''],
    ['a 5000-character string', '/' + 'a'.repeat(4999)],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an array', ['/reports']],
    ['an object', { toString: () => '/reports' }],
  ];
  for (const [name, rd] of cases) {
    it(`${name}: ${JSON.stringify(rd) ?? String(rd)}`, () => {
      assert.equal(safeRedirectTarget(rd, PUBLIC_URL), '/');
    });
  }
});

describe('safeRedirectTarget: what comes back is always a same-origin path', () => {
  const tricky = [
    '/..//evil.com',
    '/.//evil.com',
    '/a/../..//evil.com',
    '/%2e%2e//evil.com',
    '/%2F/evil.com',
    'https://app.example.com//evil.com',
    'https://app.example.com/..//evil.com',
    'evil.com',
    'https:evil.com',
    '?x=//evil.com',
    '#//evil.com',
  ];
  for (const rd of tricky) {
    it(`${rd} does not come back scheme-relative`, () => {
      const target = safeRedirectTarget(rd, PUBLIC_URL);
      assert.ok(target.startsWith('/'), target);
      assert.ok(!target.startsWith('//'), target);
      assert.ok(!target.includes('\\'), target);
      // Resolved the way a browser resolves a Location header, it stays on our origin.
      assert.equal(new URL(target, PUBLIC_URL).origin, PUBLIC_URL);
    });
  }

  it('/..//evil.com becomes "/"', () => {
    assert.equal(safeRedirectTarget('/..//evil.com', PUBLIC_URL), '/');
  });

  it('keeps a long but reasonable target (1000 characters)', () => {
    const long = '/search?q=' + 'a'.repeat(990);
    assert.equal(safeRedirectTarget(long, PUBLIC_URL), long);
  });

  it('works with a publicUrl that has a port of its own', () => {
    assert.equal(safeRedirectTarget('http://localhost:4180/x', 'http://localhost:4180'), '/x');
    assert.equal(safeRedirectTarget('http://localhost:4181/x', 'http://localhost:4180'), '/');
    assert.equal(safeRedirectTarget('http://localhost/x', 'http://localhost:4180'), '/');
  });
});
