/**
 * A migrated configuration runs for real: an oauth2-proxy TOML file for the test provider goes through
 * `authgate migrate oauth2-proxy`, the gateway starts from the YAML it printed (the real command, secrets
 * from the variables stderr named), and a browser signs in through the provider to the upstream; the
 * email/group rule and the public route came over, and the upstream gets the access token where
 * pass_access_token put it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { freePort, runCli, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_SESSION_KEY, waitForOutput, type GatewayProcess } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { migrate } from './migrate-cli.js';

describe('a migrated oauth2-proxy configuration, run for real', () => {
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let gateway: GatewayProcess;
  let publicUrl: string;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    upstream = await startUpstream();
    idp = await startIdp({ clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] }] });
    const dir = mkdtempSync(join(tmpdir(), 'oauth2-proxy-'));
    writeFileSync(
      join(dir, 'oauth2-proxy.cfg'),
      [
        `http_address = "127.0.0.1:${port}"`,
        'provider = "oidc"',
        `oidc_issuer_url = "${idp.issuer}"`,
        `client_id = "${TEST_CLIENT_ID}"`,
        `client_secret = "${TEST_CLIENT_SECRET}"`,
        `redirect_url = "${publicUrl}/oauth2/callback"`,
        `upstreams = ["${upstream.url}/"]`,
        'email_domains = ["example.com"]',
        'allowed_groups = ["admins"]',
        'skip_auth_regex = ["^/public/"]',
        'pass_access_token = true',
        `cookie_secret = "${TEST_SESSION_KEY}"`,
      ].join('\n'),
    );
    const migrated = await migrate(['--config', join(dir, 'oauth2-proxy.cfg')]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.ok(!migrated.stdout.includes(TEST_CLIENT_SECRET) && !migrated.stdout.includes(TEST_SESSION_KEY), 'secrets stay off stdout');
    const file = join(dir, 'authgate.yaml');
    writeFileSync(file, migrated.stdout);
    gateway = runCli(['--config', file], { AUTHGATE_CLIENT_SECRET: TEST_CLIENT_SECRET, AUTHGATE_SESSION_KEY: TEST_SESSION_KEY });
    await waitForOutput(gateway, (out) => out.includes('provider metadata loaded') && out.includes('Server listening'));
  });

  after(async () => {
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    await Promise.all([idp?.close(), upstream?.close()]);
  });

  it('signs alice in through the provider; the upstream gets her identity and X-Forwarded-Access-Token', async () => {
    const browser = new BrowserClient();
    const { response, visited } = await browser.login(`${publicUrl}/reports?year=2026`, 'alice');
    assert.equal(response?.status, 200);
    assert.equal(visited.at(-1), `${publicUrl}/reports?year=2026`);
    const seen = upstream.last();
    assert.equal(seen?.url, '/reports?year=2026');
    assert.equal(seen?.headers['x-forwarded-email'], 'alice@example.com');
    assert.match(String(seen?.headers['x-forwarded-access-token']), /^[A-Za-z0-9_.-]{20,}$/);
    assert.equal(seen?.headers.authorization, undefined, 'oauth2-proxy sent no Authorization header; neither does the migration');
  });

  it('refuses bob, who is outside email_domains and allowed_groups', async () => {
    const browser = new BrowserClient();
    const { response } = await browser.login(`${publicUrl}/reports`, 'bob');
    assert.equal(response?.status, 403);
  });

  it('lets anyone reach the skip_auth_regex prefix without signing in', async () => {
    const before = upstream.requests.length;
    const response = await fetch(`${publicUrl}/public/logo.svg`, { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.equal(upstream.requests.length, before + 1);
    assert.equal(upstream.last()?.url, '/public/logo.svg');
  });
});
