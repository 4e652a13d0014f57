/**
 * Request-target canonicalisation: the one path that routing, policy and the upstream all see. Every escape
 * decodes (but those of "/" and "\", refused), bytes read as UTF-8, dot segments resolve (also when
 * percent-encoded), empty segments collapse; the wire form re-encodes what is not pchar, in upper case.
 * Encoded slashes, backslashes, control characters, broken escapes, invalid UTF-8 and anything not in
 * origin-form are refused (null → 400).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalPrefix, normaliseTarget, wirePath } from '../../src/url/normalise-path.js';

/** What Node gives for a request line carrying these UTF-8 bytes raw: one latin1 char per byte. */
const rawBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

function pathOf(raw: string): string | undefined {
  return normaliseTarget(raw)?.path;
}

describe('normaliseTarget: accepted targets', () => {
  const cases: [raw: string, path: string, wire?: string][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    // dot segments
    ['/a/./b/../c', '/a/c'],
    ['/./a', '/a'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/..', '/'],
    ['/...', '/...'],
    ['/a/.b/..c', '/a/.b/..c'],
    // ".." above the root clamps at the root
    ['/..', '/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/../../b', '/b'],
    // encoded dots decode, then resolve
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E%2E/b', '/b'],
    ['/a/%2E/b', '/a/b'],
    ['/a/.%2e/b', '/b'],
    ['/a/%2e./b', '/b'],
    ['/%2e%2e/%2e%2e/x', '/x'],
    // unreserved escapes decode
    ['/%7Euser', '/~user'],
    ['/%7euser', '/~user'],
    ['/%41dmin', '/Admin'],
    ['/a%2Db%5Fc%2E', '/a-b_c.'],
    ['/%30%39', '/09'],
    // every other escape decodes too; the wire form keeps pchar raw and re-encodes the rest in upper case
    ['/a%3ab', '/a:b'],
    ['/a%3Ab', '/a:b'],
    ['/%40admin', '/@admin'],
    ['/odata/%24metadata', '/odata/$metadata'],
    ['/a%3Bb=c', '/a;b=c'],
    ['/a%20b', '/a b', '/a%20b'],
    ['/100%25', '/100%', '/100%25'],
    ['/%2540admin', '/%40admin', '/%2540admin'],
    ['/%25%32%65%25%32%65/x', '/%2e%2e/x', '/%252e%252e/x'],
    ['/caf%c3%a9', '/café', '/caf%C3%A9'],
    ['/caf%C3%A9', '/café', '/caf%C3%A9'],
    [rawBytes('/café'), '/café', '/caf%C3%A9'],
    ['/%E6%97%A5%E6%9C%AC', '/日本', '/%E6%97%A5%E6%9C%AC'],
    [rawBytes('/日%E6%9C%AC'), '/日本', '/%E6%97%A5%E6%9C%AC'],
    ['/a%3fb', '/a?b', '/a%3Fb'],
    ['/a%23b', '/a#b', '/a%23b'],
    ['/a[b]', '/a[b]', '/a%5Bb%5D'],
    ['/a%5bb%5d', '/a[b]', '/a%5Bb%5D'],
    ['/a"<>^`{|}', '/a"<>^`{|}', '/a%22%3C%3E%5E%60%7B%7C%7D'],
    ['/%F0%9F%98%80', '/😀', '/%F0%9F%98%80'],
    // duplicate slashes collapse
    ['//a', '/a'],
    ['/a//b', '/a/b'],
    ['/a///b//', '/a/b/'],
    ['//', '/'],
    // trailing slash kept
    ['/a/', '/a/'],
    ['/a/b/', '/a/b/'],
    // raw reserved characters are kept as they are
    ['/a;b=c/d', '/a;b=c/d'],
    ['/a:b@c!$&\'()*+,=', '/a:b@c!$&\'()*+,='],
  ];
  for (const [raw, path, wire = path] of cases) {
    it(`${JSON.stringify(raw)} → ${path} (wire ${wire})`, () => {
      assert.deepEqual(normaliseTarget(raw), { path, wire, query: '' });
    });
  }
});

describe('normaliseTarget: the query string', () => {
  const cases: [raw: string, path: string, query: string][] = [
    ['/a?x=1&y=2', '/a', 'x=1&y=2'],
    ['/a/../b?x=%2e%2e%2f&y=%7E', '/b', 'x=%2e%2e%2f&y=%7E'],
    ['/a?next=/b/../c', '/a', 'next=/b/../c'],
    ['/a?q=\\', '/a', 'q=\\'],
    ['/a?x=%zz', '/a', 'x=%zz'],
    ['/a?', '/a', ''],
    ['/a?b?c', '/a', 'b?c'],
    ['/?x', '/', 'x'],
  ];
  for (const [raw, path, query] of cases) {
    it(`${raw} → path ${path}, query ${JSON.stringify(query)}`, () => {
      assert.deepEqual(normaliseTarget(raw), { path, wire: path, query });
    });
  }

  it('the query is empty when absent', () => {
    assert.equal(normaliseTarget('/a')?.query, '');
  });
});

describe('normaliseTarget: refused targets (400)', () => {
  const cases: [name: string, raw: string][] = [
    ['encoded slash %2F', '/a%2Fb'],
    ['encoded slash %2f', '/a%2fb'],
    ['encoded slash used to climb', '/public/..%2fadmin'],
    ['encoded backslash %5C', '/a%5Cb'],
    ['encoded backslash %5c', '/a%5cb'],
    ['raw backslash', '/a\\b'],
    ['raw backslash at the start', '/\\evil.com'],
    ['encoded NUL', '/a%00b'],
    ['encoded control character %01', '/a%01'],
    ['encoded tab', '/a%09b'],
    ['encoded newline', '/a%0Ab'],
    ['encoded DEL', '/a%7Fb'],
    ['raw NUL', '/a\u0000b'],
    ['raw tab', '/a\tb'],
    ['raw newline', '/a\nb'],
    ['raw carriage return', '/a\rb'],
    ['raw space', '/a b'],
    ['raw DEL', '/a\u007fb'],
    ['bad escape %zz', '/a%zz'],
    ['truncated UTF-8 escape', '/caf%C3'],
    ['lone continuation byte', '/%A9'],
    ['byte FF', '/%FF'],
    ['raw byte FF', '/a\u00ffb'],
    ['raw truncated UTF-8', '/caf\u00c3'],
    ['overlong "/" (C0 AF)', '/a%C0%AFb'],
    ['overlong "." (C0 AE)', '/%C0%AE%C0%AE/admin'],
    ['UTF-16 surrogate as UTF-8', '/%ED%A0%80'],
    ['not a continuation byte', '/%C3%28'],
    ['a char beyond one byte (not a request line)', '/日本'],
    ['bad escape %4 at the end', '/a%4'],
    ['bad escape %4 followed by a slash', '/a%4/b'],
    ['lone percent', '/a%'],
    ['half-hex escape %g1', '/%g1'],
    ['absolute-form', 'http://x/'],
    ['absolute-form https', 'https://app.example.com/admin'],
    ['asterisk-form', '*'],
    ['authority-form', 'app.example.com:443'],
    ['relative path', 'a/b'],
    ['empty', ''],
    ['query only', '?x=1'],
    ['fragment', '/a#b'],
  ];
  for (const [name, raw] of cases) {
    it(`${name}: ${JSON.stringify(raw)}`, () => {
      assert.equal(normaliseTarget(raw), null);
    });
  }
});

describe('wirePath', () => {
  const cases: [path: string, wire: string][] = [
    ['/', '/'],
    ['/@admin', '/@admin'],
    ["/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"],
    ['/%40admin', '/%2540admin'],
    ['/café', '/caf%C3%A9'],
    ['/a b', '/a%20b'],
    ['/a?b#c', '/a%3Fb%23c'],
  ];
  for (const [path, wire] of cases) {
    it(`${path} → ${wire}`, () => {
      assert.equal(wirePath(path), wire);
      assert.equal(normaliseTarget(wire)?.path, path, 'reads back as the same path');
    });
  }
});

describe('canonicalPrefix: configured prefixes take the form request paths take', () => {
  const cases: [configured: string, prefix: string | null][] = [
    ['/', '/'],
    ['/api/', '/api'],
    ['/café', '/café'],
    ['/caf%C3%A9', '/café'],
    ['/caf%c3%a9/', '/café'],
    ['/@admin', '/@admin'],
    ['/%40admin', '/@admin'],
    ['/%2540admin', '/%40admin'],
    ['/odata/$metadata', '/odata/$metadata'],
    ['/a b', '/a b'],
    ['/日本', '/日本'],
    ['/a//b/./c/../d', '/a/b/d'],
    ['/%7Euser', '/~user'],
    ['/a%2Fb', null],
    ['/a\\b', null],
    ['/100%', null],
    ['/caf%C3', null],
    ['/a\tb', null],
  ];
  for (const [configured, prefix] of cases) {
    it(`${JSON.stringify(configured)} → ${String(prefix)}`, () => {
      assert.equal(canonicalPrefix(configured), prefix);
    });
  }
});

describe('normaliseTarget: invariants of every accepted path', () => {
  const samples = ['/a/./b/../c', '//x//y/', '/%2e%2e/%2E', '/a/%7E/../b', '/x/y/z/../../..', '/a;b/../c', '/%41%42%43/', '/%2540/%C3%A9%20'];
  for (const raw of samples) {
    it(`${raw} is canonical and stable`, () => {
      const path = pathOf(raw);
      assert.ok(path !== undefined);
      assert.ok(path.startsWith('/'));
      assert.ok(!path.includes('//'), 'no empty segment');
      assert.ok(!path.split('/').some((s) => s === '.' || s === '..'), 'no dot segment');
      // The wire form reads back as the same path, and is its own wire form: routing and the upstream agree.
      const wire = normaliseTarget(raw)?.wire ?? '';
      assert.equal(pathOf(wire), path);
      assert.equal(normaliseTarget(wire)?.wire, wire);
    });
  }
});
