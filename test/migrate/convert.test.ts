/**
 * Mappings the fixtures do not show, in-process: the Redis URL forms, the user claim, the Azure tenant,
 * the token headers, and the lines for options given with values that change nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertOptions } from '../../src/migrate/convert.js';
import { formatLine } from '../../src/migrate/migration.js';
import { readProxyOptions } from '../../src/migrate/read-sources.js';
import { BASE_FLAGS as BASE } from './migrate-cli.js';


function convert(flags: string[]) {
  const m = convertOptions(readProxyOptions({ env: {}, flags: [...BASE, ...flags] }));
  return { tree: m.tree, lines: m.lines.map(formatLine), secrets: m.secretEnv };
}

describe('converting oauth2-proxy options', () => {
  it('writes a standalone Redis URL with the user and a password reference, and the TLS scheme', () => {
    const { tree, secrets } = convert(['--session-store-type=redis', '--redis-connection-url=rediss://sessions:p%40ss@redis.example.com:6380/3']);
    assert.deepEqual(tree.session.redis, { url: 'rediss://sessions:${AUTHGATE_REDIS_PASSWORD}@redis.example.com:6380/3' });
    assert.equal(secrets.AUTHGATE_REDIS_PASSWORD, 'p%40ss', 'validated with the percent-encoded password');
  });

  it('puts the email in X-Forwarded-User for prefer_email_to_user, and reports user_id_claim', () => {
    assert.equal(convert(['--prefer-email-to-user']).tree.oidc.userClaim, 'email');
    const { tree, lines } = convert(['--user-id-claim=preferred_username']);
    assert.equal(tree.oidc.userClaim, undefined);
    assert.ok(lines.some((l) => l.startsWith('authgate migrate: user_id_claim: not carried: ') && l.includes('oidc.userClaim: preferred_username')));
  });

  it('derives the Azure issuer from the tenant and refuses the multi-tenant endpoints', () => {
    const base = BASE.filter((f) => !f.startsWith('--provider') && !f.startsWith('--oidc-issuer-url'));
    const single = convertOptions(readProxyOptions({ env: {}, flags: [...base, '--provider=azure', '--azure-tenant=contoso.onmicrosoft.com'] }));
    assert.equal(single.tree.oidc.issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    const common = convertOptions(readProxyOptions({ env: {}, flags: [...base, '--provider=azure'] }));
    assert.ok(common.lines.some((l) => l.kind === 'problem' && l.option === 'azure_tenant'));
  });

  it('sends no token upstream unless oauth2-proxy did', () => {
    assert.equal(convert([]).tree.defaults.forwardAccessToken, false);
    const both = convert(['--pass-access-token', '--pass-authorization-header']);
    assert.equal(both.tree.defaults.forwardAccessToken, undefined);
    assert.deepEqual(both.tree.defaults.accessToken, { header: 'X-Forwarded-Access-Token' });
    assert.ok(both.lines.some((l) => l.startsWith('authgate migrate: pass_authorization_header: not carried: ')));
  });

  it('turns skip_claims_from_profile_url into oidc.userinfo: never, and says nothing of it when false', () => {
    assert.equal(convert(['--skip-claims-from-profile-url']).tree.oidc.userinfo, 'never');
    const off = convert(['--skip-claims-from-profile-url=false']);
    assert.equal(off.tree.oidc.userinfo, undefined);
    assert.deepEqual(off.lines.filter((l) => l.includes('skip_claims_from_profile_url')), []);
  });

  it('says nothing about options given with the value that changes nothing', () => {
    const { lines } = convert(['--force-https=false', '--standard-logging=true', '--exclude-logging-path=', '--skip-provider-button']);
    assert.deepEqual(lines.filter((l) => /force_https|standard_logging|exclude_logging_path|skip_provider_button/.test(l)), []);
    assert.ok(convert(['--force-https']).lines.some((l) => l.startsWith('authgate migrate: force_https: not carried: ')));
  });
});
