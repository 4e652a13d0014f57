/**
 * What a wrong configuration tells its author: every problem at once, each with its YAML path, including the
 * checks that compare fields; values of the wrong shape; misspelt keys. Insecure settings and files that
 * are not mappings are in load-refused-settings and load-file-shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/load.js';
import { KEY, load, minimalTree, pathOf, problemsOf } from './fixtures.js';

describe('a configuration with many problems', () => {
  const yaml = `
server:
  listen: "4180"
  publicUrl: "https://app.example.com/gateway"
  trustedProxies: ["10.0.0.0/33"]
  workers: 0
  metricsListen: "0.0.0.0:4180"
  shutdownGrace: "soon"
oidc:
  issuer: "http://idp.example.com"
  clientId: ""
  scopes: [profile, email]
  clientAuthMethod: private_key
session:
  keys: ["too-short"]
  idleTimeout: "2h"
  absoluteTimeout: "1h"
  store: memcached
api:
  acceptBearerTokens: "yes"
upstreams:
  - name: app
    url: "ftp://files.example.com"
    auth: maybe
    allow:
      emailDomains: ["@example.com"]
  - name: app
    path: "/"
  - name: "api gateway"
    path: "api"
    timeout: -1
  - "not an upstream"
`;

  it('reports every one of them, each once, with its YAML path', () => {
    const problems = problemsOf(yaml);
    const paths = problems.map(pathOf);
    assert.deepEqual(
      new Set(paths),
      new Set([
        'server.listen',
        'server.publicUrl',
        'server.trustedProxies[0]',
        'server.workers',
        'server.shutdownGrace',
        'oidc.issuer', // http without allowInsecureHttp: a cross-field check, run although other fields failed
        'oidc.clientId',
        'oidc.clientSecret',
        'oidc.scopes',
        'oidc.clientAuthMethod',
        'session.keys[0]',
        'session.absoluteTimeout', // shorter than idleTimeout: cross-field
        'session.store',
        'api.acceptBearerTokens',
        'upstreams[0].url',
        'upstreams[0].auth',
        'upstreams[0].allow.emailDomains[0]',
        'upstreams[1].name', // duplicate name: cross-field
        'upstreams[1].path', // same host and path as upstreams[0]: cross-field
        'upstreams[2].name',
        'upstreams[2].path',
        'upstreams[2].timeout',
        'upstreams[3]',
      ]),
    );
    assert.equal(problems.length, paths.length);
    assert.equal(new Set(paths).size, problems.length, `a path is reported twice:\n${problems.join('\n')}`);
  });

  it('says what is wrong in words, never echoing a value (it may be a secret)', () => {
    const problems = problemsOf(yaml);
    assert.ok(problems.includes('oidc.clientSecret: required'), problems.join('\n'));
    assert.ok(problems.includes('api.acceptBearerTokens: expected true or false, got text'), problems.join('\n'));
    assert.ok(problems.includes('upstreams[3]: expected a mapping (key: value), got text'), problems.join('\n'));
    assert.ok(problems.includes('upstreams[1].name: duplicates upstreams[0].name'), problems.join('\n'));
    assert.ok(!problems.some((p) => p.includes('too-short') || p.includes('not an upstream')), problems.join('\n'));
  });

  it('puts the count and one line per problem in the error message', () => {
    assert.throws(
      () => load(yaml),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'AUTHGATE_ERR_CONFIG');
        const lines = err.message.split('\n');
        assert.equal(lines[0], `test.yaml: ${err.problems.length} problems`);
        assert.deepEqual(lines.slice(1), err.problems.map((p) => `  ${p}`));
        return true;
      },
    );
  });

  it('skips a cross-field check whose own field is invalid, reporting only that field', () => {
    const tree = minimalTree();
    tree.session.idleTimeout = 'a while';
    tree.session.absoluteTimeout = '1s';
    assert.deepEqual(problemsOf(tree).map(pathOf), ['session.idleTimeout']);
  });
});

describe('values of the wrong shape', () => {
  it('reports each, and the cross-field checks do not trip over them', () => {
    const yaml = 'upstreams: [null, 5, [], {name: a}]\nserver: {publicUrl: 7}\nsession: {cookieName: 5, keys: [1]}\noidc: {issuer: 5, allowInsecureHttp: 3}\n';
    assert.deepEqual(problemsOf(yaml), [
      'server.publicUrl: expected text, got a number',
      'oidc.issuer: expected text, got a number',
      'oidc.clientId: required',
      'oidc.allowInsecureHttp: expected true or false, got a number',
      'session.keys[0]: expected text, got a number',
      'session.cookieName: expected text, got a number',
      'upstreams[0]: expected a mapping (key: value), got null',
      'upstreams[1]: expected a mapping (key: value), got a number',
      'upstreams[2]: expected a mapping (key: value), got a list',
      // Which credential is required depends on clientAuthMethod: a cross-field check, reported after the fields.
      'oidc.clientSecret: required',
    ]);
  });
});

describe('misspelt keys', () => {
  it('reports every unknown key at every level, with its path', () => {
    const tree = minimalTree();
    tree.server.listn = '0.0.0.0:8080';
    tree.sesion = { keys: [KEY] };
    tree.upstreams[0].stripprefix = true;
    tree.upstreams[0].allow = { group: ['admins'] };
    tree.session.redis = { uri: 'redis://cache:6379' };
    tree.oidc.clinetSecretFile = fileURLToPath(import.meta.url); // a file that exists
    const problems = problemsOf(tree);
    assert.deepEqual(
      new Set(problems.map(pathOf)),
      new Set(['sesion', 'server.listn', 'session.redis.uri', 'upstreams[0].stripprefix', 'upstreams[0].allow.group', 'oidc.clinetSecretFile (oidc.clinetSecret)']),
    );
    assert.deepEqual(new Set(problems.map((p) => p.slice(p.indexOf(': ') + 2))), new Set([
      'unknown key; did you mean session?',
      'unknown key; did you mean listen?',
      'unknown key; did you mean url?',
      'unknown key; did you mean stripPrefix?',
      'unknown key; did you mean groups?',
      // Read from a file: the suggestion names the key the user wrote.
      'unknown key; did you mean clientSecretFile?',
    ]));
  });

  it('suggests the key an oauth2-proxy habit or a misplaced rule meant, and nothing when none is near', () => {
    const tree = minimalTree();
    tree.upstreams[0].email_domains = ['example.com'];
    tree.upstreams[0].emailDomains = ['example.com'];
    tree.oidc.ClientID = 'gateway';
    tree.server.banana = true;
    tree.defaults = { alow: {} };
    assert.deepEqual(problemsOf(tree).sort(), [
      'defaults.alow: unknown key; did you mean allow?',
      'oidc.ClientID: unknown key; did you mean clientId?',
      'server.banana: unknown key (misspelt? see docs/configuration.md)',
      'upstreams[0].emailDomains: unknown key; did you mean allow.emailDomains?',
      'upstreams[0].email_domains: unknown key; did you mean allow.emailDomains?',
    ]);
  });
});
