/**
 * What a wrong configuration tells its author: every problem at once, each with its YAML path, including the
 * checks that compare fields; misspelt keys; insecure or contradictory settings; files that are not YAML
 * mappings at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
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
      'oidc.clientSecret: required',
      'oidc.allowInsecureHttp: expected true or false, got a number',
      'session.keys[0]: expected text, got a number',
      'session.cookieName: expected text, got a number',
      'upstreams[0]: expected a mapping (key: value), got null',
      'upstreams[1]: expected a mapping (key: value), got a number',
      'upstreams[2]: expected a mapping (key: value), got a list',
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
    assert.ok(problems.every((p) => p.endsWith(': unknown key (misspelt? see docs/configuration.md)')), problems.join('\n'));
  });
});

describe('insecure or contradictory settings', () => {
  it('refuses an http issuer unless allowInsecureHttp is true', () => {
    const tree = minimalTree();
    tree.oidc.issuer = 'http://idp.example.com';
    const problems = problemsOf(tree);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^oidc\.issuer: an http:\/\/ issuer is refused; use https, or set oidc\.allowInsecureHttp: true/);
    tree.oidc.allowInsecureHttp = true;
    assert.equal(load(tree).oidc.issuer, 'http://idp.example.com');
  });

  it('refuses a session key shorter than 32 bytes and says how to make one', () => {
    const tree = minimalTree();
    tree.session.keys = [KEY, Buffer.alloc(31).toString('hex'), Buffer.alloc(31).toString('base64')];
    const problems = problemsOf(tree);
    assert.deepEqual(problems.map(pathOf), ['session.keys[1]', 'session.keys[2]']);
    for (const problem of problems) assert.match(problem, /at least 32 bytes .*openssl rand -base64 32/);
    tree.session.keys = [Buffer.alloc(32).toString('hex')];
    assert.equal(load(tree).session.keys.length, 1);
  });

  it('refuses an empty list of session keys', () => {
    const tree = minimalTree();
    tree.session.keys = [];
    assert.deepEqual(problemsOf(tree), ['session.keys: give at least one session key']);
  });

  for (const publicUrl of ['https://app.example.com/gateway', 'https://app.example.com/?x=1', 'https://app.example.com/#top', 'https://user:pw@app.example.com']) {
    it(`refuses publicUrl ${publicUrl}: an origin only`, () => {
      const tree = minimalTree();
      tree.server.publicUrl = publicUrl;
      const problems = problemsOf(tree);
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^server\.publicUrl: must be an origin only/);
    });
  }

  it('refuses a publicUrl that is not an http(s) URL', () => {
    const tree = minimalTree();
    tree.server.publicUrl = 'app.example.com';
    assert.deepEqual(problemsOf(tree), ['server.publicUrl: expected an absolute http(s) URL']);
  });

  it('refuses two upstreams with the same name', () => {
    const tree = minimalTree();
    tree.upstreams.push({ name: 'app', path: '/other', url: 'http://127.0.0.1:3001' });
    assert.deepEqual(problemsOf(tree), ['upstreams[1].name: duplicates upstreams[0].name']);
  });

  it('refuses two upstreams with the same host and path, however the path is spelt', () => {
    const tree = minimalTree();
    tree.upstreams = [
      { name: 'a', host: 'app.example.com', path: '/api', url: 'http://127.0.0.1:3000' },
      { name: 'b', host: 'APP.example.com', path: '/API/', url: 'http://127.0.0.1:3001' },
      { name: 'c', path: '/api', url: 'http://127.0.0.1:3002' },
      { name: 'd', host: 'other.example.com', path: '/api', url: 'http://127.0.0.1:3003' },
    ];
    assert.deepEqual(problemsOf(tree), ['upstreams[1].path: upstreams[0] already has this host and path; one of them would never be reached']);
  });

  it('refuses a __Host- cookie name with an http publicUrl', () => {
    const tree = minimalTree();
    tree.server.publicUrl = 'http://localhost:4180';
    tree.session.cookieName = '__Host-gw';
    assert.deepEqual(problemsOf(tree), ['session.cookieName: browsers only accept __Host- and __Secure- cookies over https; publicUrl is http']);
    tree.server.publicUrl = 'https://app.example.com';
    assert.equal(load(tree).session.cookieName, '__Host-gw');
  });

  it('refuses metricsListen on the same port as listen', () => {
    const tree = minimalTree();
    tree.server.listen = '0.0.0.0:8080';
    tree.server.metricsListen = '127.0.0.1:8080';
    assert.deepEqual(problemsOf(tree), ['server.metricsListen: must differ from server.listen (or be "" to serve /metrics there)']);
    tree.server.metricsListen = '127.0.0.1:9090';
    assert.deepEqual(load(tree).server.metricsListen, { host: '127.0.0.1', port: 9090 });
  });

  it('refuses a trusted proxy prefix of /0 (every peer), which the gateway could not start with', () => {
    for (const entry of ['0.0.0.0/0', '::/0', '10.0.0.1/00']) {
      const tree = minimalTree();
      tree.server.trustedProxies = ['10.0.0.0/8', entry];
      const problems = problemsOf(tree);
      assert.equal(problems.length, 1, entry);
      assert.match(problems[0] ?? '', /^server\.trustedProxies\[1\]: a \/0 prefix would trust every peer/, entry);
    }
  });

  it('refuses scopes without openid', () => {
    const tree = minimalTree();
    tree.oidc.scopes = ['profile'];
    assert.deepEqual(problemsOf(tree), ['oidc.scopes: must include "openid"']);
  });

  it('refuses a secret given as a number without echoing it', () => {
    const text = stringify(minimalTree());
    assert.match(text, /clientSecret: secret/);
    const problems = problemsOf(text.replace('clientSecret: secret', 'clientSecret: 8675309'));
    assert.deepEqual(problems, ['oidc.clientSecret: expected text, got a number']);
  });
});

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
    assert.deepEqual(problemsOf('{}\n'), ['server: required', 'oidc: required', 'session: required', 'upstreams: required']);
  });

  it('puts a single problem on one line of the error message', () => {
    assert.throws(() => load('- a\n'), { message: 'test.yaml: the file holds a list; it must be a YAML mapping with server, oidc, session and upstreams' });
  });
});
