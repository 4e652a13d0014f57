/**
 * Several providers through the real command (`authgate --config FILE` as a child process): the start-up
 * line names each provider, each logs its own metadata load, and a user signs in at the second one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, runCli, TEST_CLIENT_ID, TEST_CLIENT_SECRET, waitForOutput, writeConfigFile, type GatewayProcess } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

describe('several providers through the command', () => {
  let corp: StartedIdp;
  let partners: StartedIdp;
  let upstream: StartedUpstream;
  let proc: GatewayProcess;
  let publicUrl: string;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const client = { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] };
    [corp, partners, upstream] = await Promise.all([startIdp({ clients: [client] }), startIdp({ clients: [client] }), startUpstream()]);
    const { oidc, ...rest } = baseConfig({ publicUrl, issuer: corp.issuer, upstreamUrl: upstream.url, listenPort: port });
    const file = writeConfigFile({
      ...rest,
      providers: [
        { ...oidc, id: 'corp', name: 'Corp SSO', issuer: corp.issuer },
        { ...oidc, id: 'partners', name: 'Partner login', issuer: partners.issuer },
      ],
    });
    proc = runCli(['--config', file]);
    await waitForOutput(proc, (out) => out.split('provider metadata loaded').length === 3 && out.includes('authgate started'));
  });
  after(async () => {
    proc.child.kill('SIGTERM');
    await proc.exited;
    await Promise.all([corp.close(), partners.close(), upstream.close()]);
  });

  it('names both providers at start and signs alice in at partners', async () => {
    const lines = proc.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const started = lines.find((line) => line.msg === 'authgate started');
    assert.deepEqual(started?.providers, [
      { id: 'corp', issuer: corp.issuer },
      { id: 'partners', issuer: partners.issuer },
    ]);
    assert.deepEqual(lines.filter((line) => line.msg === 'provider metadata loaded').map((line) => line.provider).sort(), ['corp', 'partners']);

    const browser = new BrowserClient();
    const result = await browser.login(`${publicUrl}/oauth2/start?provider=partners&rd=/hello`, 'alice');
    assert.equal(result.response?.status, 200);
    const { headers } = (await result.response.json()) as { headers: Record<string, string> };
    assert.equal(headers['x-forwarded-provider'], 'partners');
    assert.ok(!proc.stdout().includes(TEST_CLIENT_SECRET), 'the client secret is never logged');
  });
});
