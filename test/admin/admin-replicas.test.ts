/**
 * THE cross-replica test: two gateway processes (the real command, one configuration file) sharing one
 * real redis-server. A user signs in through A and opens a WebSocket through B; an admin ends the user's
 * sessions on A's admin API; B then refuses the cookie and closes the socket (1008 "session ended") within
 * 5 s. Also: each replica's admin API answers only on admin.listen (not on listen, not on metricsListen).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, runCli, TEST_CLIENT_ID, TEST_CLIENT_SECRET, waitForOutput, type GatewayProcess } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { connect, startWsUpstream, type WsUpstream } from '../proxy/ws-echo-fixtures.js';
import { within } from '../proxy/ws-fixtures.js';
import { ADMIN_TOKENS } from './admin-fixtures.js';

interface Replica {
  url: string;
  adminUrl: string;
  metricsUrl: string;
  proc: GatewayProcess;
}

/** Starts one replica from the shared file; its three ports come from the environment (listen: `port`). */
async function startReplica(file: string, port: number): Promise<Replica> {
  const [adminPort, metricsPort] = [await freePort(), await freePort()];
  const env = { AUTHGATE_TEST_PORT: String(port), AUTHGATE_ADMIN_PORT: String(adminPort), AUTHGATE_METRICS_PORT: String(metricsPort), ADMIN_TOKEN: ADMIN_TOKENS[0] };
  const proc = runCli(['--config', file], env);
  await waitForOutput(proc, (out) => out.includes('authgate started') && out.includes('provider metadata loaded') && out.includes('session store connected'));
  return { url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, metricsUrl: `http://127.0.0.1:${metricsPort}`, proc };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.proc.child.exitCode !== null) return;
  replica.proc.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.proc.child.kill('SIGKILL'), 5_000);
  await replica.proc.exited;
  clearTimeout(timer);
}

describe('ending a session on one replica closes its WebSocket on another', () => {
  let redis: StartedRedis;
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let wsUpstream: WsUpstream;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let dir: string;
  let publicUrl: string;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    wsUpstream = await startWsUpstream();
    // A's address is the public one (registered at the provider); the browser's cookie then goes to B too.
    dir = mkdtempSync(join(tmpdir(), 'authgate-admin-replicas-'));
    const file = join(dir, 'gateway.yaml');
    const portA = await freePort();
    publicUrl = `http://127.0.0.1:${portA}`;
    idp = await startIdp({ clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] }] });
    const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: portA });
    tree.server = { ...tree.server, listen: '127.0.0.1:${AUTHGATE_TEST_PORT}', metricsListen: '127.0.0.1:${AUTHGATE_METRICS_PORT}' };
    tree.session = { ...tree.session, store: 'redis', redis: { url: redis.url } };
    tree.upstreams.unshift({ name: 'ws', path: '/ws', url: wsUpstream.url });
    tree.admin = { listen: '127.0.0.1:${AUTHGATE_ADMIN_PORT}', tokens: ['${ADMIN_TOKEN}'] };
    writeFileSync(file, stringify(tree));
    [a, b] = await Promise.all([startReplica(file, portA), startReplica(file, await freePort())]);
  });

  after(async () => {
    await Promise.all([stopReplica(a), stopReplica(b)]);
    await Promise.all([idp?.close(), upstream?.close(), wsUpstream?.close(), redis?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const adminCall = (replica: Replica, method: string, path: string) =>
    fetch(`${replica.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKENS[0]}` } });

  it('revoked on the admin API of A: B refuses the cookie and closes the socket within 5 s', async () => {
    assert.ok(a && b);
    const alice = new BrowserClient();
    const login = await alice.login(`${publicUrl}/`, 'alice');
    assert.equal(login.response?.status, 200);
    const cookie = alice.jar.cookieHeader(publicUrl) ?? '';
    const onB = (path: string) => fetch(`${b?.url}${path}`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    assert.equal((await onB('/page')).status, 200, 'the session made on A works on B');

    const handshake = await connect(`${b.url.replace('http', 'ws')}/ws`, { cookie });
    assert.equal(handshake.kind, 'open');
    const { client } = handshake;
    client.ws.send('hello');
    assert.equal((await client.nextMessage()).data.toString(), 'hello', 'the socket through B is live');

    const listed = await adminCall(a, 'GET', '/admin/sessions?user=alice');
    assert.equal(listed.status, 200);
    assert.equal(((await listed.json()) as { sessions: unknown[] }).sessions.length, 1);

    const started = performance.now();
    const revoked = await adminCall(a, 'DELETE', '/admin/sessions?user=alice');
    assert.equal(revoked.status, 200);
    assert.deepEqual(await revoked.json(), { revoked: 1 });
    const closed = await within(client.closeEvent, 'B to close the socket after the revocation on A', 5_000);
    const delayMs = performance.now() - started;
    assert.deepEqual(closed, { code: 1008, reason: 'session ended' });
    process.stdout.write(`# cross-replica close: ${delayMs.toFixed(1)} ms after the DELETE was sent to A\n`);

    const refused = await onB('/page');
    assert.equal(refused.status, 302, 'B refuses the cookie: off to sign in');
    const api = await fetch(`${b.url}/page`, { headers: { cookie, accept: 'application/json' } });
    assert.equal(api.status, 401);
    await waitForOutput(b.proc, (out) => out.includes('"msg":"websockets closed: their session ended"'), 5_000);
    await waitForOutput(a.proc, (out) => out.includes('"action":"end-user-sessions"'), 5_000);
    assert.ok(!b.proc.stdout().includes(ADMIN_TOKENS[0]) && !a.proc.stdout().includes(ADMIN_TOKENS[0]), 'no admin token in either log');
  });

  it('serves /admin/* only on admin.listen: not on listen, not on metricsListen', async () => {
    assert.ok(b);
    const auth = { authorization: `Bearer ${ADMIN_TOKENS[0]}`, accept: 'application/json' };
    const onAdmin = await fetch(`${b.adminUrl}/admin/sessions?user=alice`, { headers: auth });
    assert.equal(onAdmin.status, 200);
    const onMetrics = await fetch(`${b.metricsUrl}/admin/sessions?user=alice`, { headers: auth });
    assert.equal(onMetrics.status, 404);
    await onMetrics.body?.cancel();
    const onMain = await fetch(`${b.url}/admin/sessions?user=alice`, { headers: auth });
    assert.equal(onMain.status, 401, 'the main listener treats it as a protected upstream path (no session)');
    assert.doesNotMatch(onMain.headers.get('www-authenticate') ?? '', /authgate admin/);
    await onMain.body?.cancel();
  });
});
