/**
 * `defaults:` and the keys added for oauth2-proxy habits: what a file with them becomes, and how a wrong
 * value in them is reported (once, at the path the user wrote).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, minimalTree, problemsOf } from './fixtures.js';

describe('defaults:', () => {
  it('gives every upstream the keys it does not set, key by key; its own allow replaces the default whole', () => {
    const tree = minimalTree();
    tree.defaults = { timeout: '5s', forwardAccessToken: false, allow: { emailDomains: ['example.com'] } };
    tree.upstreams.push({ name: 'admin', path: '/admin', url: 'http://127.0.0.1:3001', allow: { groups: ['admins'] }, timeout: '90s' });
    const [app, admin] = load(tree).upstreams;
    assert.equal(app?.timeout, 5_000);
    assert.equal(app?.forwardAccessToken, false);
    assert.deepEqual(app?.allow.emailDomains, ['example.com']);
    assert.equal(admin?.timeout, 90_000);
    assert.equal(admin?.forwardAccessToken, false);
    assert.deepEqual(admin?.allow.groups, ['admins']);
    assert.deepEqual(admin?.allow.emailDomains, [], 'an own allow is not merged with the default one');
  });

  it('reports a wrong default once, at defaults.KEY, and not at every upstream', () => {
    const tree = minimalTree();
    tree.upstreams.push({ name: 'b', path: '/b', url: 'http://127.0.0.1:3001' });
    tree.defaults = { timeout: 'soon', allow: { emailDomains: ['@example.com'] } };
    assert.deepEqual(problemsOf(tree), [
      'defaults.timeout: expected a duration such as "90s", "15m", "12h" or a number of seconds',
      'defaults.allow.emailDomains[0]: a domain without "@", e.g. "example.com"',
    ]);
  });

  it('refuses the keys that say where an upstream is (name, path, host, url)', () => {
    const tree = minimalTree();
    tree.defaults = { url: 'http://127.0.0.1:3000', path: '/' };
    assert.deepEqual(problemsOf(tree).sort(), ['defaults.path: unknown key (misspelt? see docs/configuration.md)', 'defaults.url: unknown key (misspelt? see docs/configuration.md)']);
  });
});

describe('keys for oauth2-proxy habits', () => {
  it('reads oidc.prompt, extraAuthorizeParams (values as text), userClaim, accessToken.header and skipAuthPreflight', () => {
    const tree = minimalTree();
    tree.oidc.prompt = 'select_account consent';
    tree.oidc.extraAuthorizeParams = { access_type: 'offline', max_age: 300, include_granted_scopes: true };
    tree.oidc.userClaim = 'preferred_username';
    tree.upstreams[0].accessToken = { header: 'X-Forwarded-Access-Token' };
    tree.upstreams[0].skipAuthPreflight = 'true';
    const config = load(tree);
    assert.equal(config.oidc.prompt, 'select_account consent');
    assert.deepEqual(config.oidc.extraAuthorizeParams, { access_type: 'offline', max_age: '300', include_granted_scopes: 'true' });
    assert.equal(config.oidc.userClaim, 'preferred_username');
    assert.equal(config.upstreams[0]?.accessToken.header, 'X-Forwarded-Access-Token');
    assert.equal(config.upstreams[0]?.skipAuthPreflight, true);
  });

  it('refuses the parameters the gateway sets, a prompt "none" with another, and headers with another meaning', () => {
    const tree = minimalTree();
    tree.oidc.prompt = 'none login';
    tree.oidc.extraAuthorizeParams = { state: 'x', redirect_uri: 'https://evil.example', prompt: 'consent', scope: 'openid', client_secret: 's', 'bad name': 'x' };
    tree.upstreams[0].accessToken = { header: 'Cookie' };
    tree.upstreams.push({ name: 'b', path: '/b', url: 'http://127.0.0.1:3001', accessToken: { header: 'X-Forwarded-User' } });
    tree.upstreams.push({ name: 'c', path: '/c', url: 'http://127.0.0.1:3001', accessToken: { header: 'Bad Header' } });
    tree.upstreams.push({ name: 'd', path: '/d', url: 'http://127.0.0.1:3001', allow: { anyAuthenticatedUser: true, emailDomains: ['example.com'] } });
    assert.deepEqual(problemsOf(tree).sort(), [
      'oidc.extraAuthorizeParams.bad name: a parameter name of letters, digits, "_", "." or "-"',
      'oidc.extraAuthorizeParams.client_secret: the gateway sets this parameter itself',
      'oidc.extraAuthorizeParams.prompt: set oidc.prompt instead',
      'oidc.extraAuthorizeParams.redirect_uri: the gateway sets this parameter itself',
      'oidc.extraAuthorizeParams.scope: set oidc.scopes instead',
      'oidc.extraAuthorizeParams.state: the gateway sets this parameter itself',
      'oidc.prompt: "none" cannot be combined with another prompt value',
      'upstreams[0].accessToken.header: this header has another meaning; use Authorization or a header of its own such as X-Forwarded-Access-Token',
      'upstreams[1].accessToken.header: this header has another meaning; use Authorization or a header of its own such as X-Forwarded-Access-Token',
      'upstreams[2].accessToken.header: a header name, e.g. "X-Forwarded-Access-Token"',
      'upstreams[3].allow: anyAuthenticatedUser: true admits every signed-in user; remove it, or remove the emails, emailDomains, groups and claims rules',
    ]);
  });
});

describe('keys named like the properties of every object', () => {
  it('are unknown keys with a clear line, never a crash, in defaults and anywhere a ${VAR} is missing', () => {
    const tree = minimalTree();
    tree.defaults = JSON.parse('{"constructor": {"auth": "public"}, "toString": "x", "__proto__": {"auth": "public"}}') as Record<string, unknown>;
    Object.defineProperty(tree.server, 'constructor', { value: '${NOPE}', enumerable: true });
    tree.upstreams[0].allow = { emailDomains: ['example.com'], hasOwnProperty: true };
    const problems = problemsOf(tree);
    assert.ok(problems.includes('server.constructor: environment variable NOPE is not set (or write ${NOPE:-default})'), problems.join('\n'));
    for (const path of ['defaults.constructor', 'defaults.toString', 'server.constructor', 'upstreams[0].allow.hasOwnProperty']) {
      assert.ok(problems.includes(`${path}: unknown key (misspelt? see docs/configuration.md)`), `${path}\n${problems.join('\n')}`);
    }
  });
});
