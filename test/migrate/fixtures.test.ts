/**
 * Five realistic oauth2-proxy configurations, each written only from oauth2-proxy's documented options, go
 * through the real command: the migrated YAML passes `authgate --check` with the variables stderr names,
 * never shows a secret, and stderr says what was not carried over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { check, FIXTURES, migrate, readEnvFile, readFlagsFile, stderrLines, type CliRun } from './migrate-cli.js';

/** The parts of a migrated configuration the tests read. */
interface Migrated {
  server: { trustedProxies?: string[]; metricsListen?: string };
  oidc: {
    issuer: string;
    clientSecret?: string;
    clientSecretFile?: string;
    scopes?: string[];
    extraAuthorizeParams?: Record<string, string>;
    prompt?: string;
    trustUnverifiedEmail?: boolean;
  };
  session: { keys?: string[]; store?: string; redis?: { url: string }; cookieName?: string; absoluteTimeout?: string };
  api?: Record<string, unknown>;
  defaults: {
    allow: Record<string, unknown>;
    accessToken?: { header: string };
    authRequestAccessToken?: boolean;
    skipAuthPreflight?: boolean;
    forwardAccessToken?: boolean;
    timeout?: string;
  };
  upstreams: Array<{ name: string; path: string; url?: string; auth?: string }>;
}

/** Migrates, then checks the output with `secrets` set; returns the run and the parsed YAML. */
async function migrateAndCheck(args: string[], env: Record<string, string>, secrets: Record<string, string>): Promise<{ run: CliRun; tree: Migrated }> {
  const run = await migrate(args, env);
  assert.equal(run.code, 0, `migrate failed:\n${run.stderr}`);
  for (const secret of Object.values(secrets)) assert.ok(!run.stdout.includes(secret), 'a secret reached stdout');
  const checked = await check(run.stdout, secrets);
  assert.equal(checked.code, 0, `--check refused the output:\n${checked.stderr}\n${run.stdout}`);
  assert.equal(checked.stderr, '', 'no --check warning: no route admits every signed-in user without saying so');
  return { run, tree: parse(run.stdout) as Migrated };
}

function assertLine(run: CliRun, expected: RegExp): void {
  assert.ok(
    stderrLines(run).some((line) => expected.test(line)),
    `no stderr line matches ${expected}:\n${run.stderr}`,
  );
}

describe('migrating realistic oauth2-proxy configurations', () => {
  it('a Keycloak sidecar with Redis Sentinel (TOML file)', async () => {
    const { run, tree } = await migrateAndCheck(['--config', `${FIXTURES}/keycloak-sentinel.cfg`], {}, {
      AUTHGATE_CLIENT_SECRET: 'kc-client-secret-9f8e7d6c5b4a',
      AUTHGATE_SESSION_KEY: 'q3xL2cGz8dC0Jq9v7Rk1s5YbN4wT6hUe0aFmPiXoZlM=',
      AUTHGATE_REDIS_PASSWORD: encodeURIComponent('r3dis-Pa55/word'),
    });
    assert.equal(tree.oidc.issuer, 'https://sso.example.com/realms/corp');
    assert.equal(tree.oidc.clientSecret, '${AUTHGATE_CLIENT_SECRET}');
    assert.deepEqual(tree.session.keys, ['${AUTHGATE_SESSION_KEY}']);
    assert.equal(tree.session.store, 'redis');
    assert.equal(
      tree.session.redis?.url,
      'redis+sentinel://:${AUTHGATE_REDIS_PASSWORD}@redis-sentinel-0.redis:26379,redis-sentinel-1.redis:26379,redis-sentinel-2.redis:26379/sessions',
    );
    assert.equal(tree.session.cookieName, '__Host-grafana_proxy');
    assert.equal(tree.session.absoluteTimeout, '12h');
    assert.deepEqual(tree.server.trustedProxies, ['10.0.0.0/8']);
    assert.equal(tree.server.metricsListen, '0.0.0.0:9100');
    assert.deepEqual(tree.defaults.allow, { emailDomains: ['example.com'], groups: ['/grafana-users', '/grafana-admins'] });
    assert.deepEqual(tree.defaults.accessToken, { header: 'X-Forwarded-Access-Token' });
    assert.equal(tree.defaults.authRequestAccessToken, true);
    assert.deepEqual(tree.upstreams, [{ name: 'app', path: '/', url: 'http://127.0.0.1:3000' }]);
    assertLine(run, /^authgate migrate: cookie_domains: not carried: /);
    assertLine(run, /^authgate migrate: cookie_refresh: not carried: /);
    assertLine(run, /^authgate migrate: client_secret: .*AUTHGATE_CLIENT_SECRET/);
    assertLine(run, /^authgate migrate: redis_password: .*AUTHGATE_REDIS_PASSWORD.*percent-encoded/);
  });

  it('Google with an authenticated-emails file and skip-auth routes (TOML file)', async () => {
    const { run, tree } = await migrateAndCheck(['--config', `${FIXTURES}/google-emails.cfg`], {}, {
      AUTHGATE_CLIENT_SECRET: 'GOCSPX-google-client-secret-xyz',
      // the old cookie secret is 16 bytes: a new key, as stderr says
      AUTHGATE_SESSION_KEY: TEST_SESSION_KEY,
    });
    assert.equal(tree.oidc.issuer, 'https://accounts.google.com');
    assert.deepEqual(tree.oidc.scopes, ['openid', 'email', 'profile']);
    assert.deepEqual(tree.oidc.extraAuthorizeParams, { access_type: 'offline' });
    assert.deepEqual(tree.defaults.allow, { emails: ['ada@example.com', 'grace@example.com', 'linus@contractor.example.net'] });
    assert.equal(tree.defaults.skipAuthPreflight, true);
    assert.deepEqual(
      tree.upstreams.map((u) => [u.path, u.auth ?? 'required']),
      [
        ['/', 'required'],
        ['/assets/', 'public'],
      ],
    );
    assert.ok(!run.stdout.includes('0123456789abcdef'), 'the old cookie secret is not printed');
    assertLine(run, /^authgate migrate: cookie_secret: shorter than 32 bytes: set AUTHGATE_SESSION_KEY to a new key/);
    assertLine(run, /^authgate migrate: skip_auth_routes: not carried: "GET=\^\/healthz\$": /);
    assertLine(run, /^authgate migrate: skip_auth_routes: not carried: "\^\/favicon\\\.ico\$" is not a plain path prefix/);
    assertLine(run, /^authgate migrate: whitelist_domains: not carried: /);
    assertLine(run, /^authgate migrate: approval_prompt: not carried: /);
  });

  it('Microsoft Entra ID from OAUTH2_PROXY_* variables only', async () => {
    const env = readEnvFile(`${FIXTURES}/entra-env.env`);
    const { run, tree } = await migrateAndCheck([], env, {
      AUTHGATE_CLIENT_SECRET: 'entra~client~secret~Qx7',
      AUTHGATE_SESSION_KEY: 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5',
      AUTHGATE_REDIS_PASSWORD: 'azure-redis-key',
    });
    assert.equal(tree.oidc.issuer, 'https://login.microsoftonline.com/8f3c2a1e-5b6d-4c7e-9f00-1a2b3c4d5e6f/v2.0');
    assert.equal(tree.oidc.prompt, 'select_account');
    assert.equal(tree.oidc.trustUnverifiedEmail, true);
    assert.equal(tree.session.redis?.url, 'rediss://:${AUTHGATE_REDIS_PASSWORD}@portal-sessions.redis.cache.windows.net:6380/2');
    assert.deepEqual(tree.api, { acceptBearerTokens: true, audiences: ['0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a', 'api://portal'] });
    assert.deepEqual(tree.defaults.allow, { emailDomains: ['contoso.com', 'fabrikam.com'], groups: ['3f1b2c4d-0000-4e5f-8a9b-112233445566'] });
    assert.equal(tree.defaults.forwardAccessToken, false, 'oauth2-proxy sent no token unless asked');
    assertLine(run, /^authgate migrate: oidc_email_claim: not carried: /);
    assertLine(run, /^authgate migrate: allowed_groups: Entra ID puts group object ids/);
  });

  it('GitLab with groups, from command-line flags', async () => {
    const flags = readFlagsFile(`${FIXTURES}/gitlab.flags`);
    const { run, tree } = await migrateAndCheck(['--', ...flags], {}, { AUTHGATE_SESSION_KEY: 'c2VjcmV0LWtleS1mb3ItdGhlLW9wcy1kYXNoYm9hcmQhIQ==' });
    assert.equal(tree.oidc.clientSecretFile, 'test/migrate/fixtures/gitlab-client-secret');
    assert.deepEqual(tree.defaults.allow, { groups: ['platform', 'platform/sre'] }, 'email_domains "*" with groups: the groups decide');
    assert.equal(tree.defaults.timeout, '1m');
    assert.deepEqual(
      tree.upstreams.map((u) => [u.name, u.path, u.url, u.auth ?? 'required']),
      [
        ['dashboard', '/', 'http://dashboard:9000', 'required'],
        ['api', '/api/', 'http://metrics-api:9001', 'required'],
        ['api-public-1', '/api/health', 'http://metrics-api:9001', 'public'],
      ],
    );
    assert.ok(!run.stdout.includes('every user who can sign in'), 'groups restrict: no "everyone" comment');
    assertLine(run, /^authgate migrate: cookie_refresh: not carried: /);
  });

  it('several upstreams with skip_auth_regex entries that cannot be mapped exactly', async () => {
    const { run, tree } = await migrateAndCheck(['--config', `${FIXTURES}/multi-upstream.cfg`], {}, {
      AUTHGATE_CLIENT_SECRET: 'authentik-shop-secret',
      AUTHGATE_SESSION_KEY: 'dGhpcnR5LXR3by1ieXRlcy1vZi1zZWNyZXQtZm9yLXNob3A=',
    });
    assert.deepEqual(tree.defaults.allow, { anyAuthenticatedUser: true });
    assert.match(run.stdout, /# oauth2-proxy had email_domains = \["\*"\]: every user who can sign in at the provider passes\./);
    assert.equal(tree.session.redis?.url, 'redis+cluster://redis-0.shop:6379,redis-1.shop:6379,redis-2.shop:6379');
    assert.deepEqual(
      tree.upstreams.map((u) => [u.path, u.auth ?? 'required']),
      [
        ['/', 'required'],
        ['/api/', 'required'],
        ['/docs/', 'required'],
        ['/api/public/', 'public'],
      ],
    );
    assertLine(run, /^authgate migrate: email_domains: "\*" carried as defaults\.allow\.anyAuthenticatedUser: true/);
    assertLine(run, /^authgate migrate: skip_auth_regex: not carried: "\^\/docs\/\.\*\\\.\(css\|js\)\$"/);
    assertLine(run, /^authgate migrate: skip_auth_regex: not carried: "\/health\$"/);
    assertLine(run, /^authgate migrate: skip_auth_regex: not carried: "\^\/\$"/);
    assertLine(run, /^authgate migrate: upstreams: not carried: "file:\/\/\/var\/www\/static\/#\/static\/"/);
    assertLine(run, /^authgate migrate: trusted_ips: not carried: /);
    assertLine(run, /^authgate migrate: ssl_insecure_skip_verify: not carried: refused/);
    assertLine(run, /^authgate migrate: pass_authorization_header: authgate sends the access token/);
  });
});
