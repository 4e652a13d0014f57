/**
 * Insecure or contradictory settings are refused with a clear problem: http issuers, short or missing
 * session keys, publicUrl that is not an origin, duplicate upstreams, a __Host- cookie over http, clashing
 * listeners, a /0 trusted proxy, scopes without openid, a secret given as a number.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { KEY, load, minimalTree, pathOf, problemsOf } from './fixtures.js';

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
