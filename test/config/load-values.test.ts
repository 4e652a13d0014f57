/**
 * What a valid configuration becomes: secure defaults for everything left out, and a frozen result.
 * Durations, `${VAR}` references and `xxxFile` secrets are in load-durations, load-env-references and
 * load-secret-files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY, load, minimalTree } from './fixtures.js';

describe('configuration defaults', () => {
  it('fills every option left out with its documented default', () => {
    // oidc: is the one provider "default", named for its issuer's host on the sign-in page.
    const DEFAULT_PROVIDER = {
      issuer: 'https://idp.example.com',
      clientId: 'gateway',
      clientSecret: 'secret',
      clientAuthMethod: 'client_secret_basic',
      clientAssertionAudience: 'issuer',
      pushedAuthorizationRequests: 'auto',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      groupsClaim: 'groups',
      userClaim: 'sub',
      userinfo: 'auto',
      extraAuthorizeParams: {},
      trustUnverifiedEmail: false,
      clockSkew: 60_000,
      maxIdTokenAge: 600_000,
      metadataRefresh: 86_400_000,
      allowInsecureHttp: false,
      dpop: false,
      id: 'default',
      name: 'idp.example.com',
    };
    const tree = minimalTree();
    tree.upstreams.push({ name: 'forward-auth-only', host: 'App.Example.COM' });
    assert.deepEqual(load(tree), {
      server: {
        listen: { host: '0.0.0.0', port: 4180 },
        publicUrl: 'https://app.example.com',
        trustedProxies: [],
        metricsListen: '',
        shutdownGrace: 30_000,
        shutdownDelay: 5_000,
        headersTimeout: 10_000,
        requestTimeout: 300_000,
        workers: 1,
        logLevel: 'info',
      },
      oidc: DEFAULT_PROVIDER,
      providers: [DEFAULT_PROVIDER],
      session: {
        keys: [KEY],
        store: 'cookie',
        redis: { url: 'redis://127.0.0.1:6379', timeout: 2_000, clientCache: true },
        idleTimeout: 3_600_000,
        absoluteTimeout: 43_200_000,
        refreshSkew: 60_000,
      },
      api: { acceptBearerTokens: false, audiences: ['gateway'], introspectOpaqueTokens: false },
      upstreams: [
        {
          name: 'app',
          path: '/',
          url: 'http://127.0.0.1:3000',
          auth: 'required',
          forwardAccessToken: true,
          accessToken: { header: 'Authorization' },
          skipAuthPreflight: false,
          authRequestAccessToken: false,
          stripPrefix: false,
          preserveHost: false,
          timeout: 30_000,
          websocket: true,
          allowedOrigins: [],
          allow: { emails: [], emailDomains: [], groups: [], claims: {}, anyAuthenticatedUser: false },
        },
        {
          name: 'forward-auth-only',
          path: '/',
          host: 'app.example.com',
          auth: 'required',
          forwardAccessToken: true,
          accessToken: { header: 'Authorization' },
          skipAuthPreflight: false,
          authRequestAccessToken: false,
          stripPrefix: false,
          preserveHost: false,
          timeout: 30_000,
          websocket: true,
          allowedOrigins: [],
          allow: { emails: [], emailDomains: [], groups: [], claims: {}, anyAuthenticatedUser: false },
        },
      ],
      tracing: { otlpEndpoint: '', serviceName: 'authgate', sampleRatio: 1 },
      pages: { dir: '', title: 'authgate', logo: '', footer: '' },
      admin: { listen: '', tokens: [] },
    });
  });

  it('leaves session.cookieName unset so the gateway picks __Host-authgate or authgate from publicUrl', () => {
    assert.equal(load(minimalTree()).session.cookieName, undefined);
  });

  it('keeps api.audiences when given, instead of the client id', () => {
    const tree = minimalTree();
    tree.api = { audiences: ['https://api.example.com'] };
    assert.deepEqual(load(tree).api.audiences, ['https://api.example.com']);
  });

  it('parses listen addresses, IPv6 included', () => {
    const tree = minimalTree();
    tree.server.listen = '[::1]:8080';
    tree.server.metricsListen = '127.0.0.1:9090';
    const { server } = load(tree);
    assert.deepEqual(server.listen, { host: '::1', port: 8080 });
    assert.deepEqual(server.metricsListen, { host: '127.0.0.1', port: 9090 });
  });

  it('normalises publicUrl and allowedOrigins to origins without a trailing slash', () => {
    const tree = minimalTree();
    tree.server.publicUrl = 'https://App.Example.com:443/';
    tree.upstreams[0].allowedOrigins = ['https://admin.example.com/', 'http://localhost:5173'];
    const config = load(tree);
    assert.equal(config.server.publicUrl, 'https://app.example.com');
    assert.deepEqual(config.upstreams[0]?.allowedOrigins, ['https://admin.example.com', 'http://localhost:5173']);
  });
});

describe('the loaded configuration', () => {
  it('is frozen all the way down', () => {
    const config = load(minimalTree());
    const upstream = config.upstreams[0];
    assert.ok(upstream);
    for (const part of [config, config.server, config.server.listen, config.oidc.scopes, config.session.keys, config.upstreams, upstream, upstream.allow, upstream.allow.groups]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      config.oidc.clientSecret = 'changed';
    }, TypeError);
    assert.throws(() => upstream.allow.groups.push('admins'), TypeError);
    assert.equal(config.oidc.clientSecret, 'secret');
  });
});
