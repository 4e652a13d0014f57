/**
 * Upstreams' own tokens on two gateway processes (the real command, one configuration file) sharing one
 * real redis-server, as two replicas behind a load balancer: a burst of requests spread over both makes one
 * resource grant, and the refresh token one process rotated is the one the other uses next.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { stringify } from 'yaml';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, runCli, TEST_CLIENT_ID, TEST_CLIENT_SECRET, waitForOutput, type GatewayProcess } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

const API = { accept: 'application/json' };
const ORDERS = 'https://orders.internal/';
const BILLING = 'https://billing.internal/';

async function startProcess(file: string, port: number): Promise<GatewayProcess> {
  const proc = runCli(['--config', file], { AUTHGATE_TEST_PORT: String(port) });
  await waitForOutput(proc, (out) => out.includes('Server listening') && out.includes('provider metadata loaded') && out.includes('session store connected'));
  return proc;
}

async function stopProcess(proc: GatewayProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}

describe('upstream tokens on two gateway processes sharing Redis', () => {
  let redis: StartedRedis;
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let dir: string;
  const procs: GatewayProcess[] = [];
  let urls: string[] = [];

  before(async () => {
    const ports = [await freePort(), await freePort()];
    urls = ports.map((port) => `http://127.0.0.1:${port}`);
    redis = await startRedis();
    upstream = await startUpstream();
    idp = await startIdp({
      clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${urls[0]}/oauth2/callback`] }],
    });
    const tree = baseConfig({ publicUrl: urls[0], issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: ports[0] });
    tree.server.listen = '127.0.0.1:${AUTHGATE_TEST_PORT}';
    tree.session.store = 'redis';
    tree.session.redis = { url: redis.url };
    tree.upstreams.push({ name: 'orders', path: '/orders', url: upstream.url, accessToken: { resource: ORDERS } });
    tree.upstreams.push({ name: 'billing', path: '/billing', url: upstream.url, accessToken: { resource: BILLING } });
    dir = mkdtempSync(join(tmpdir(), 'authgate-upstream-tokens-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(tree));
    procs.push(...(await Promise.all(ports.map((port) => startProcess(file, port)))));
  });

  after(async () => {
    await Promise.all(procs.map(stopProcess));
    await Promise.all([idp?.close(), upstream?.close(), redis?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const grants = (resource: string) => idp.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.resource === resource);
  async function tokenAt(browser: BrowserClient, origin: string, path: string) {
    const response = await browser.fetch(`${origin}${path}`, { headers: API });
    const body = (await response.json()) as { headers?: Record<string, string> };
    return { status: response.status, token: body.headers?.authorization?.replace(/^Bearer /, '') ?? '' };
  }

  it('makes one grant for a burst over both processes, and each uses the refresh token the other rotated', async () => {
    const browser = new BrowserClient();
    const signedIn = await browser.login(`${urls[0]}/`, 'alice');
    assert.equal(signedIn.response?.status, 200);
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => tokenAt(browser, urls[i % 2], `/orders/${i}`)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.token)).size, 1);
    assert.equal(decodeJwt(answers[0].token).aud, ORDERS);
    assert.equal(grants(ORDERS).length, 1);
    // The other process's grant for another resource uses the refresh token the first grant left.
    const billing = await tokenAt(browser, urls[1], '/billing/a');
    assert.equal(billing.status, 200);
    assert.equal(decodeJwt(billing.token).aud, BILLING);
    const again = await tokenAt(browser, urls[0], '/billing/b');
    assert.equal(again.token, billing.token);
    assert.deepEqual(idp.tokenRequests.filter((r) => r.grantType === 'refresh_token').map((r) => r.status), [200, 200]);
  });
});
