/**
 * Files that are not a configuration mapping: bad YAML syntax with its line, a key given twice, a list, a
 * single value, an empty file, and an empty mapping naming every missing section.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, problemsOf } from './fixtures.js';

describe('files that are not a configuration mapping', () => {
  it('reports bad YAML syntax with its line', () => {
    const problems = problemsOf('server:\n  publicUrl: "https://app.example.com\noidc: [\n');
    assert.ok(problems.length >= 1);
    for (const problem of problems) assert.match(problem, /^YAML syntax: .*line \d+/);
  });

  it('reports a key given twice', () => {
    const problems = problemsOf('server:\n  listen: "0.0.0.0:1"\n  listen: "0.0.0.0:2"\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^YAML syntax: Map keys must be unique/);
  });

  it('refuses a file that is a list', () => {
    assert.deepEqual(problemsOf('- server\n- oidc\n'), ['the file holds a list; it must be a YAML mapping with server, oidc, session and upstreams']);
  });

  it('refuses a file that is a single value', () => {
    assert.deepEqual(problemsOf('authgate\n'), ['the file holds a single value; it must be a YAML mapping with server, oidc, session and upstreams']);
  });

  for (const [name, text] of [
    ['an empty file', ''],
    ['a file of comments', '# nothing here yet\n\n'],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(problemsOf(text), ['the file is empty; it must be a YAML mapping with server, oidc, session and upstreams']);
    });
  }

  it('names every missing section of an empty mapping', () => {
    assert.deepEqual(problemsOf('{}\n'), [
      'server: required',
      'session: required',
      'upstreams: required',
      'oidc: required: the identity provider (or providers: for several)',
    ]);
  });

  it('puts a single problem on one line of the error message', () => {
    assert.throws(() => load('- a\n'), { message: 'test.yaml: the file holds a list; it must be a YAML mapping with server, oidc, session and upstreams' });
  });
});
