/**
 * `upstreams[].accessToken` resource, audience and scopes: what a file with them becomes (also from
 * `defaults:`), and each wrong value reported at the path the user wrote.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWarnings } from '../../src/config/warnings.js';
import { load, minimalTree, problemsOf } from './fixtures.js';

const URL_B = 'http://127.0.0.1:3001';

describe('upstreams[].accessToken: resource, audience, scopes', () => {
  it('reads them, and an upstream inherits them from defaults unless it sets its own', () => {
    const tree = minimalTree();
    tree.defaults = { accessToken: { audience: 'apps' } };
    tree.upstreams.push({ name: 'orders', path: '/orders', url: URL_B, accessToken: { resource: 'https://orders.internal/?tenant=a', scopes: ['orders:read'], header: 'X-Forwarded-Access-Token' } });
    const [app, orders] = load(tree).upstreams;
    assert.deepEqual(app?.accessToken, { audience: 'apps', header: 'Authorization' });
    assert.deepEqual(orders?.accessToken, { resource: 'https://orders.internal/?tenant=a', scopes: ['orders:read'], header: 'X-Forwarded-Access-Token' });
  });

  it('names the YAML path of a bad resource, audience, scope list or header', () => {
    const tree = minimalTree();
    tree.upstreams[0].accessToken = { resource: 'orders.internal/api' };
    const more: Array<Record<string, unknown>> = [
      { resource: 'https://orders.internal/#section' },
      { scopes: [] },
      { scopes: ['orders read'] },
      { audience: '' },
      { header: 'Connection' },
      { header: 'Transfer-Encoding' },
      { header: 'X-Auth-Request-User' },
      { header: 'x_forwarded_email' },
      { header: 'DPoP' },
      { header: 'Proxy-Authorization' },
    ];
    more.forEach((accessToken, i) => tree.upstreams.push({ name: `u${i}`, path: `/u${i}`, url: URL_B, accessToken }));
    const other = 'this header has another meaning; use Authorization or a header of its own such as X-Forwarded-Access-Token';
    assert.deepEqual(problemsOf(tree), [
      'upstreams[0].accessToken.resource: an absolute URI without a fragment, e.g. "https://orders.internal/"',
      'upstreams[1].accessToken.resource: an absolute URI without a fragment, e.g. "https://orders.internal/"',
      'upstreams[2].accessToken.scopes: name at least one scope, or leave scopes out',
      'upstreams[3].accessToken.scopes[0]: a scope: printable ASCII without spaces, quotes or "\\"',
      'upstreams[4].accessToken.audience: an audience, e.g. "orders-api"',
      ...[5, 6, 7, 8, 9, 10].map((i) => `upstreams[${i}].accessToken.header: ${other}`),
    ]);
  });

  it('warns when a route that is sent no token asks for one', () => {
    const tree = minimalTree();
    tree.upstreams[0].allow = { anyAuthenticatedUser: true };
    tree.upstreams.push({ name: 'pub', path: '/pub', url: URL_B, auth: 'public', accessToken: { resource: 'https://a.internal/' } });
    tree.upstreams.push({ name: 'off', path: '/off', url: URL_B, forwardAccessToken: false, allow: { anyAuthenticatedUser: true }, accessToken: { scopes: ['x'] } });
    assert.deepEqual(configWarnings(load(tree)), [
      'upstreams[1].accessToken: "pub" is sent no token (auth: public or forwardAccessToken: false), so resource, audience and scopes do nothing here',
      'upstreams[2].accessToken: "off" is sent no token (auth: public or forwardAccessToken: false), so resource, audience and scopes do nothing here',
    ]);
  });
});
