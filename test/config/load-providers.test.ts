/**
 * `providers:` beside `oidc:`: one of the two, ids and issuers unique, each provider's own checks at its own
 * YAML path, and upstreams naming only configured providers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWarnings } from '../../src/config/warnings.js';
import { load, minimalTree, problemsOf } from './fixtures.js';

/** A tree with two providers in place of oidc:. */
function twoProviders(): Record<string, unknown> & { providers: Array<Record<string, unknown>>; upstreams: Array<Record<string, unknown>> } {
  const { oidc, ...rest } = minimalTree();
  return {
    ...rest,
    providers: [
      { ...oidc, id: 'corp', name: 'Corp SSO' },
      { ...oidc, id: 'partners', issuer: 'https://idp.partners.example', clientId: 'gw' },
    ],
  };
}

describe('providers', () => {
  it('makes oidc: the one provider "default", named for its host', () => {
    const config = load(minimalTree());
    assert.deepEqual(
      config.providers.map((p) => [p.id, p.name, p.issuer]),
      [['default', 'idp.example.com', 'https://idp.example.com']],
    );
    assert.equal(config.oidc, config.providers[0]);
  });

  it('reads several, the name defaulting to the id; api.audiences stays empty (each provider its own client id)', () => {
    const config = load(twoProviders());
    assert.deepEqual(
      config.providers.map((p) => [p.id, p.name, p.clientId]),
      [
        ['corp', 'Corp SSO', 'gateway'],
        ['partners', 'partners', 'gw'],
      ],
    );
    assert.equal(config.oidc.id, 'corp', 'oidc is the primary (first) provider');
    assert.deepEqual(config.api.audiences, []);
  });

  it('refuses both oidc and providers, and neither', () => {
    assert.deepEqual(problemsOf({ ...twoProviders(), oidc: minimalTree().oidc }), ['providers: give either oidc: (one provider) or providers: (several), not both']);
    const neither: Record<string, unknown> = minimalTree();
    delete neither.oidc;
    assert.deepEqual(problemsOf(neither), ['oidc: required: the identity provider (or providers: for several)']);
    assert.deepEqual(problemsOf({ ...neither, providers: [] }), ['providers: give at least one provider, or use oidc: for one']);
  });

  it('refuses ids that are not lower-case words, repeated ids, and shared issuers (with or without a slash)', () => {
    for (const id of ['Corp', 'corp sso', 'a_b', '', 'x'.repeat(33), 'ü']) {
      const tree = twoProviders();
      tree.providers[0].id = id;
      assert.match(problemsOf(tree)[0] ?? '', /^providers\[0\]\.id: lower-case letters, digits and "-"/, `id ${JSON.stringify(id)}`);
    }
    const same = twoProviders();
    same.providers[1].id = 'corp';
    assert.deepEqual(problemsOf(same), ['providers[1].id: duplicates providers[0].id']);
    const shared = twoProviders();
    shared.providers[1].issuer = 'https://idp.example.com/';
    assert.deepEqual(problemsOf(shared), ['providers[1].issuer: duplicates providers[0].issuer: tokens and logouts are matched to a provider by issuer']);
  });

  it("checks each provider's own keys at its own path", () => {
    const tree = twoProviders();
    tree.providers[1].issuer = 'http://idp.partners.example';
    tree.providers[1].clientSecrett = 'x';
    tree.providers[1].scopes = ['email'];
    const problems = problemsOf(tree);
    assert.ok(problems.includes('providers[1].clientSecrett: unknown key; did you mean clientSecret?'), problems.join('\n'));
    assert.ok(problems.includes('providers[1].scopes: must include "openid"'), problems.join('\n'));
    assert.ok(
      problems.includes('providers[1].issuer: an http:// issuer is refused; use https, or set providers[1].allowInsecureHttp: true for local development only'),
      problems.join('\n'),
    );
  });

  it('accepts upstreams[].providers naming configured ids (also from defaults:), and refuses others', () => {
    const tree = twoProviders();
    tree.defaults = { providers: ['corp'] };
    tree.upstreams.push({ name: 'partners', path: '/p', url: 'http://127.0.0.1:3001', providers: ['partners', 'corp'] });
    const config = load(tree);
    assert.deepEqual(
      config.upstreams.map((u) => u.providers),
      [['corp'], ['partners', 'corp']],
    );
    tree.upstreams[1].providers = ['partner'];
    assert.deepEqual(problemsOf(tree), ['upstreams[1].providers[0]: no provider has the id "partner" (known: corp, partners)']);
    const single = minimalTree();
    single.upstreams[0].providers = ['default'];
    assert.deepEqual(load(single).upstreams[0]?.providers, ['default']);
    single.upstreams[0].providers = [];
    assert.deepEqual(problemsOf(single), ['upstreams[0].providers: name at least one provider, or leave providers out for all']);
  });

  it('warns about a route whose emails, groups or claims any of several providers may vouch for', () => {
    const tree = twoProviders();
    tree.upstreams = [
      { name: 'corp-mail', path: '/mail', url: 'http://127.0.0.1:3000', allow: { emailDomains: ['corp.example'] } },
      { name: 'corp-only', path: '/hr', url: 'http://127.0.0.1:3000', providers: ['corp'], allow: { groups: ['hr'] } },
      { name: 'anyone', path: '/', url: 'http://127.0.0.1:3000', allow: { anyAuthenticatedUser: true } },
      { name: 'files', path: '/static', url: 'http://127.0.0.1:3000', auth: 'public', allow: { groups: ['x'] } },
    ];
    assert.deepEqual(configWarnings(load(tree)), [
      'upstreams[0].providers: "corp-mail" checks emails, groups or claims that any of the 2 providers may assert (a partner provider can vouch for a company address or group): list the providers trusted to vouch for them',
    ]);
    const single = minimalTree();
    single.upstreams[0].allow = { groups: ['admins'] };
    assert.deepEqual(configWarnings(load(single)), [], 'one provider: nothing to choose');
  });
});
