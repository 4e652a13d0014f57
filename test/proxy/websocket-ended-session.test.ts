/**
 * A WebSocket upgrade that goes through (an `auth: optional` route) while its session has just timed out:
 * the upgrade is judged as signed out, and the session ends on that request as it would on any other (its
 * Redis record deleted), although a 101 answer never reaches the write-back stage.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type StartedGateway } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { createTestClock } from '../helpers/test-clock.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { startRecordingWsUpstream, within, type RecordingWsUpstream } from './ws-fixtures.js';

describe('a WebSocket upgrade with a session that just ended', () => {
  let redis: StartedRedis;
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let wsUpstream: RecordingWsUpstream;
  let gateway: StartedGateway;
  let admin: Redis;
  const clock = createTestClock();

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    upstream = await startUpstream();
    wsUpstream = await startRecordingWsUpstream();
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    idp = await startIdp({ clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`] }] });
    const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
    tree.session = { ...tree.session, store: 'redis', redis: { url: redis.url }, idleTimeout: '10m', absoluteTimeout: '1h' };
    tree.upstreams = [{ name: 'live', path: '/live', url: wsUpstream.url, auth: 'optional', websocket: true }, ...tree.upstreams];
    gateway = await startGateway(tree, { port, now: clock.now });
  });
  after(async () => {
    admin.disconnect();
    await gateway?.gateway.app.close();
    await Promise.all([idp?.close(), upstream?.close(), wsUpstream?.close()]);
    await redis?.close();
  });

  it('goes through as signed out and deletes the ended session\'s record', async () => {
    const alice = new BrowserClient();
    await alice.login(`${gateway.url}/`, 'alice');
    const records = () => admin.keys('authgate:{*}:s');
    assert.equal((await records()).length, 1, 'signed in: one session record');

    clock.advance(11 * 60_000); // past idleTimeout on the gateway's clock
    const upgraded = wsUpstream.nextUpgrade();
    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/live`, { headers: { cookie: alice.jar.cookieHeader(gateway.url) ?? '' } });
    await within(once(ws, 'open'), 'the upgrade');
    const headers = await upgraded;
    assert.equal(headers['x-forwarded-user'], undefined, 'the upstream sees a signed-out user');
    ws.close();
    await within(once(ws, 'close'), 'the close');
    assert.deepEqual(await records(), [], 'the ended session\'s record is gone');
  });
});
