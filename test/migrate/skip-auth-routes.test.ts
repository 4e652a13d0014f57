/**
 * A skip-auth regex becomes a public route only when it is an anchored literal path prefix; every other
 * shape keeps its paths signed-in only (and is reported), so the migration never opens a path by guess.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { literalPrefix } from '../../src/migrate/skip-auth-routes.js';

describe('skip-auth regexes as path prefixes', () => {
  it('reads anchored literal prefixes', () => {
    assert.equal(literalPrefix('^/public/'), '/public/');
    assert.equal(literalPrefix('^/static/.*'), '/static/');
    assert.equal(literalPrefix('^/api/v1\\.0/status'), '/api/v1.0/status');
    assert.equal(literalPrefix('^/metrics(/.*)?'), '/metrics');
  });

  it('refuses every other shape', () => {
    for (const regex of ['/health$', '^/$', '^/health$', '^/docs/.*\\.css$', '^/api/v[0-9]+/', '^/a|^/b', 'public', '^/\\d+/', '^/x\\.*']) {
      assert.equal(literalPrefix(regex), undefined, regex);
    }
  });
});
