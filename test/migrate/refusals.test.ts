/**
 * The migration never opens a route quietly: a rule authgate cannot express, a provider it cannot speak
 * to, or an output that fails the configuration checks ends the run with exit 1 and the reason on stderr
 * (the YAML is still printed, to be fixed by hand).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrate, stderrLines } from './migrate-cli.js';

const BASE = [
  '--provider=oidc',
  '--oidc-issuer-url=https://idp.example.com',
  '--client-id=app',
  '--client-secret=s3cret-value-not-printed',
  '--cookie-secret=q3xL2cGz8dC0Jq9v7Rk1s5YbN4wT6hUe0aFmPiXoZlM=',
  '--redirect-url=https://app.example.com/oauth2/callback',
  '--upstream=http://app:8080/',
];

describe('migrations that must not be used as they are', () => {
  it('refuses a rule that admits nobody: no email_domains and no emails file', async () => {
    const run = await migrate(['--', ...BASE]);
    assert.equal(run.code, 1);
    assert.ok(stderrLines(run).some((l) => l.startsWith('authgate migrate: email_domains: cannot convert: neither email_domains nor authenticated_emails_file')), run.stderr);
  });

  it('refuses when only subdomain patterns were given (an empty rule would admit everybody)', async () => {
    const run = await migrate(['--', ...BASE, '--email-domain=.example.com']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /email_domains: not carried: "\.example\.com" \(subdomains\)/);
    assert.match(run.stderr, /email_domains: cannot convert: no domain or address is left/);
  });

  it('refuses a restriction authgate cannot enforce (Keycloak roles)', async () => {
    const run = await migrate(['--', ...BASE, '--email-domain=example.com', '--allowed-role=admin']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /allowed_roles: cannot convert: .*would admit users oauth2-proxy refused/);
  });

  it('refuses an OAuth-2-only provider', async () => {
    const run = await migrate(['--', ...BASE.filter((f) => !f.startsWith('--provider')), '--provider=github', '--github-org=acme', '--email-domain=*']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /provider: cannot convert: "github"/);
    assert.match(run.stderr, /github_org: cannot convert: /);
  });

  it('exits 1 when the output fails --check, naming the problem', async () => {
    const run = await migrate(['--', ...BASE, '--email-domain=example.com', '--trusted-proxy-ip=0.0.0.0/0', '--reverse-proxy']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the output does not pass --check: server\.trustedProxies\[0\]: a \/0 prefix/);
    assert.ok(!run.stdout.includes('s3cret-value-not-printed'));
  });

  it('stops at a configuration file it cannot read, with one line', async () => {
    const run = await migrate(['--config', 'test/migrate/fixtures/no-such.cfg']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'authgate migrate: cannot read test/migrate/fixtures/no-such.cfg: no such file\n');
  });

  it('reports an option it does not know', async () => {
    const run = await migrate(['--', ...BASE, '--email-domain=example.com', '--emial-domain=x']);
    assert.match(run.stderr, /authgate migrate: --emial-domain: not carried: not an oauth2-proxy option/);
  });
});
