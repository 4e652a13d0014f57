/**
 * The provider is down when the gateway starts: the gateway starts anyway, /ready says 503, a login gets
 * a 503 page (not a 500, not a hang), and once the provider comes up the gateway recovers by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type StartedGateway } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

describe('provider down at start', () => {
  let gateway: StartedGateway;
  let upstream: StartedUpstream;
  let idp: StartedIdp | undefined;
  let idpPort: number;
  let publicUrl: string;

  before(async () => {
    const port = await freePort();
    idpPort = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    upstream = await startUpstream();
    const tree = baseConfig({ publicUrl, issuer: `http://127.0.0.1:${idpPort}`, upstreamUrl: upstream.url, listenPort: port });
    gateway = await startGateway(tree, { port, waitForProvider: false });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
    await idp?.close();
  });

  it('starts, says 503 on /ready, and 200 on /ping', async () => {
    assert.equal((await fetch(`${publicUrl}/ping`)).status, 200);
    const ready = await fetch(`${publicUrl}/ready`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { provider: boolean }).provider, false);
  });

  it('answers a login with a 503 page', async () => {
    const start = await fetch(`${publicUrl}/oauth2/start`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(start.status, 503);
    assert.match(await start.text(), /sign-in service is not reachable/);
    const protectedPage = await fetch(`${publicUrl}/app`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(protectedPage.status, 503);
  });

  it('recovers by itself when the provider comes up, and a login then works', async () => {
    idp = await startIdp({
      port: idpPort,
      clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] }],
    });
    await gateway.gateway.services.providers.whenAllReady;
    assert.equal((await fetch(`${publicUrl}/ready`)).status, 200);
    const browser = new BrowserClient();
    const { response } = await browser.login(`${publicUrl}/after-recovery`, 'alice');
    assert.equal(response?.status, 200);
    assert.equal(upstream.last()?.headers['x-forwarded-user'], 'alice');
    assert.ok(gateway.logEntries().some((e) => e.msg === 'provider discovery failed'), 'the outage was logged');
  });
});
