/**
 * `${VAR}` and `${VAR:-default}` in the configuration come from the environment; an unset or empty variable
 * is reported with the path of the value that uses it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY, load, minimalTree, problemsOf } from './fixtures.js';

describe('${VAR} references', () => {
  it('replaces ${VAR} from the environment, also inside a longer string', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    tree.server.publicUrl = 'https://${PUBLIC_HOST}';
    tree.session.keys = ['${SESSION_KEY}'];
    const config = load(tree, { OIDC_CLIENT_SECRET: 'from-env', PUBLIC_HOST: 'gw.example.org', SESSION_KEY: KEY });
    assert.equal(config.oidc.clientSecret, 'from-env');
    assert.equal(config.server.publicUrl, 'https://gw.example.org');
    assert.deepEqual(config.session.keys, [KEY]);
  });

  it('uses the default of ${VAR:-default} when VAR is unset or empty, and VAR when it is set', () => {
    const tree = minimalTree();
    tree.session.store = 'redis';
    tree.session.redis = { url: '${REDIS_URL:-redis://cache:6379}' };
    tree.oidc.groupsClaim = '${GROUPS_CLAIM:-roles}';
    tree.oidc.clientId = '${CLIENT_ID:-fallback-id}';
    const config = load(tree, { GROUPS_CLAIM: '', CLIENT_ID: 'set-id' });
    assert.equal(config.session.redis.url, 'redis://cache:6379');
    assert.equal(config.oidc.groupsClaim, 'roles');
    assert.equal(config.oidc.clientId, 'set-id');
  });

  it('reports an unset variable once, with the path of the value that uses it', () => {
    const tree = minimalTree();
    tree.oidc.clientId = '${OIDC_CLIENT_ID}';
    tree.upstreams[0].url = '${APP_URL}';
    const problems = problemsOf(tree, { UNRELATED: 'x' });
    assert.deepEqual(problems, [
      'oidc.clientId: environment variable OIDC_CLIENT_ID is not set (or write ${OIDC_CLIENT_ID:-default})',
      'upstreams[0].url: environment variable APP_URL is not set (or write ${APP_URL:-default})',
    ]);
  });

  it('never suggests a default for a secret: by the key it fills, or by the name of the variable', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    tree.session.keys = [KEY, '${OLD_SESSION_KEY}'];
    tree.session.redis = { url: 'redis://:${REDIS_PASSWORD}@cache:6379' };
    tree.upstreams[0].url = 'http://${APP_HOST}:3000';
    tree.server.publicUrl = '${PUBLIC_ORIGIN}';
    assert.deepEqual(problemsOf(tree, {}), [
      'server.publicUrl: environment variable PUBLIC_ORIGIN is not set (or write ${PUBLIC_ORIGIN:-default})',
      'oidc.clientSecret: environment variable OIDC_CLIENT_SECRET is not set',
      'session.keys[1]: environment variable OLD_SESSION_KEY is not set',
      'session.redis.url: environment variable REDIS_PASSWORD is not set',
      'upstreams[0].url: environment variable APP_HOST is not set (or write ${APP_HOST:-default})',
    ]);
  });

  it('reports a variable set to the empty string as empty', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    assert.deepEqual(problemsOf(tree, { OIDC_CLIENT_SECRET: '' }), ['oidc.clientSecret: environment variable OIDC_CLIENT_SECRET is empty']);
  });

  it('lets booleans, numbers and durations come from the environment as text', () => {
    const tree = minimalTree();
    tree.oidc.allowInsecureHttp = '${INSECURE:-false}';
    tree.server.workers = '${WORKERS}';
    tree.upstreams[0].websocket = '${WEBSOCKETS}';
    tree.upstreams[0].timeout = '${UPSTREAM_TIMEOUT}';
    const config = load(tree, { WORKERS: '4', WEBSOCKETS: 'true', UPSTREAM_TIMEOUT: '120' });
    assert.equal(config.oidc.allowInsecureHttp, false);
    assert.equal(config.server.workers, 4);
    assert.equal(config.upstreams[0]?.websocket, true);
    assert.equal(config.upstreams[0]?.timeout, 120_000);
  });
});
