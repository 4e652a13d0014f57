/**
 * Request-target normalisation: the one spelling of a path that routing, policy and the upstream all see.
 * Dot segments resolve (also when percent-encoded), unreserved escapes decode, reserved ones stay encoded
 * in upper case, empty segments collapse; encoded slashes, backslashes, control characters, broken
 * escapes and anything not in origin-form are refused (null → 400).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseTarget } from '../../src/proxy/normalise-path.js';

function pathOf(raw: string): string | undefined {
  return normaliseTarget(raw)?.path;
}

describe('normaliseTarget: accepted targets', () => {
  const cases: [raw: string, path: string][] = [
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
    // reserved and other escapes stay encoded, upper-cased
    ['/a%3ab', '/a%3Ab'],
    ['/a%3Ab', '/a%3Ab'],
    ['/a%20b', '/a%20b'],
    ['/100%25', '/100%25'],
    ['/%25%32%65%25%32%65/x', '/%252e%252e/x'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%3fb', '/a%3Fb'],
    ['/a%23b', '/a%23b'],
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
  for (const [raw, path] of cases) {
    it(`${raw} → ${path}`, () => {
      assert.deepEqual(normaliseTarget(raw), { path, query: '' });
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
      assert.deepEqual(normaliseTarget(raw), { path, query });
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

describe('normaliseTarget: invariants of every accepted path', () => {
  const samples = ['/a/./b/../c', '//x//y/', '/%2e%2e/%2E', '/a/%7E/../b', '/x/y/z/../../..', '/a;b/../c', '/%41%42%43/'];
  for (const raw of samples) {
    it(`${raw} is canonical and stable`, () => {
      const path = pathOf(raw);
      assert.ok(path !== undefined);
      assert.ok(path.startsWith('/'));
      assert.ok(!path.includes('//'), 'no empty segment');
      assert.ok(!path.split('/').some((s) => s === '.' || s === '..'), 'no dot segment');
      // Normalising again changes nothing: routing and the upstream see the same path.
      assert.equal(pathOf(path), path);
    });
  }
});
