/**
 * The guard on a WebSocket upgrade is the guard on any request: no session is 401 (never a login redirect),
 * route policy applies (allow.groups), a bearer access token is judged like on HTTP, and path normalisation
 * keeps dot-segment and encoding tricks through a public route off the protected one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';
import { assertOpen, assertRefused, connect, rawUpgrade, type WsUpstream } from './ws-echo-fixtures.js';
import { startWsStack, type WsStack } from './ws-stack.js';

describe('WebSocket upgrades through the gateway', () => {
  let ws: WsStack;
  let stack: Stack;
  let wsUpstream: WsUpstream;
  let wsBase: string;
  let aliceCookie: string;
  let bobCookie: string;

  before(async () => {
    ws = await startWsStack();
    ({ stack, wsUpstream, wsBase, aliceCookie, bobCookie } = ws);
  });
  after(() => ws?.close());

  it('no session: 401 unauthenticated, and the upstream sees no connection', async () => {
    const before = wsUpstream.connections.length;
    const refused = assertRefused(await connect(`${wsBase}/ws/chat`, { cookie: 'app=1' }), 401, 'no session');
    assert.deepEqual(JSON.parse(refused.body), { error: 'unauthenticated' });
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
    // A forged or stale gateway cookie is no session either.
    assertRefused(await connect(`${wsBase}/ws/chat`, { cookie: 'authgate=not-a-real-session' }), 401, 'forged session cookie');
    // What a browser's WebSocket handshake looks like (same-origin Origin, no Accept).
    assertRefused(await connect(`${wsBase}/ws/chat`, { origin: new URL(stack.publicUrl).origin, 'user-agent': 'Mozilla/5.0' }), 401, 'browser upgrade');
    assert.equal(wsUpstream.connections.length, before, 'a refused upgrade must not reach the upstream');
  });

  it('no session, an upgrade that also says Accept: text/html: still 401, not a login redirect nor a login transaction', async () => {
    // An upgrade is never a navigation: a WebSocket client cannot follow a 302, and starting a login would
    // set a login-transaction cookie for every reconnect attempt.
    const handshake = await connect(`${wsBase}/ws/chat`, { origin: new URL(stack.publicUrl).origin, accept: 'text/html,application/xhtml+xml' });
    const setCookie = handshake.kind === 'refused' ? handshake.headers['set-cookie'] : undefined;
    const location = handshake.kind === 'refused' ? handshake.headers.location : undefined;
    assertRefused(handshake, 401, `upgrade with Accept: text/html (location: ${location ?? '-'}, set-cookie: ${String(setCookie ?? '-')})`);
    assert.equal(setCookie, undefined, 'no login transaction is started by an upgrade');
  });

  it("a session outside the route's allow.groups: 403; a member opens", async () => {
    const before = wsUpstream.connections.length;
    const refused = assertRefused(await connect(`${wsBase}/ws-admins/feed`, { cookie: bobCookie }), 403, 'bob (staff only) on the admins route');
    assert.doesNotMatch(refused.body, /mallory|alice/);
    assert.equal(wsUpstream.connections.length, before, 'a refused upgrade must not reach the upstream');

    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws-admins/feed`, { cookie: aliceCookie }), 'alice on the admins route');
    assert.equal((await arriving).headers['x-forwarded-user'], 'alice');
    client.ws.close();
  });


  it('a valid bearer access token and no cookie opens with the token as identity; a bad bearer gets 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: stack.idp.issuer, sub: 'svc', aud: TEST_CLIENT_ID, exp: now + 300, iat: now };
    const token = await stack.idp.signJwt(claims, { typ: 'at+jwt' });

    const arriving = wsUpstream.nextConnection();
    const client = assertOpen(await connect(`${wsBase}/ws/api`, { authorization: `Bearer ${token}` }), 'a valid bearer');
    const upstream = await arriving;
    assert.equal(upstream.headers['x-forwarded-user'], 'svc');
    assert.equal(upstream.headers.authorization, `Bearer ${token}`);
    client.ws.send(Buffer.from([7, 8, 9]));
    assert.deepEqual([...(await client.nextMessage()).data], [7, 8, 9]);
    client.ws.close();

    const before = wsUpstream.connections.length;
    const forged = await stack.idp.signJwt(claims, { typ: 'at+jwt', key: 'other' });
    const expired = await stack.idp.signJwt({ ...claims, exp: now - 600, iat: now - 900 }, { typ: 'at+jwt' });
    const wrongAudience = await stack.idp.signJwt({ ...claims, aud: 'someone-else' }, { typ: 'at+jwt' });
    const unsigned = await stack.idp.signJwt(claims, { typ: 'at+jwt', alg: 'none' });
    for (const [what, bad] of Object.entries({ forged, expired, wrongAudience, unsigned })) {
      const refused = assertRefused(await connect(`${wsBase}/ws/api`, { authorization: `Bearer ${bad}` }), 401, `${what} bearer`);
      assert.deepEqual(JSON.parse(refused.body), { error: 'invalid_token' }, `${what} bearer`);
    }
    assert.equal(wsUpstream.connections.length, before, 'a bad bearer must not reach the upstream');
  });


  it('path normalisation: dot-segment and encoding tricks through a public route cannot reach the protected websocket route', async () => {
    // The public route itself opens without a session and gets no identity.
    const arrivingPublic = wsUpstream.nextConnection();
    const publicClient = assertOpen(await connect(`${wsBase}/public/chat`), 'the public websocket route');
    const publicSeen = await arrivingPublic;
    assert.equal(publicSeen.url, '/public/chat');
    assert.equal(publicSeen.headers['x-forwarded-user'], undefined);
    publicClient.ws.close();

    const before = wsUpstream.connections.length;
    const tricks: Array<[string, number[]]> = [
      ['/public/../ws/x', [401]],
      ['/public/%2e%2e/ws/x', [401]],
      ['/public/%2E%2E/ws/x', [401]],
      ['/public/./../ws/x', [401]],
      ['/public//../ws/x', [401]],
      ['/public/..;/ws/x', [400]],
      ['/public/%2e%2e%2fws/x', [400]],
      ['/public/..%5cws/x', [400]],
      ['/public/..\\ws/x', [400]],
      ['//ws/x', [401]],
      ['/WS/../ws/x', [401]],
      ['/public/%2e%2e/ws-admins/x', [401]],
    ];
    for (const [target, expected] of tricks) {
      const status = await rawUpgrade(stack.publicUrl, target);
      assert.ok(expected.includes(status), `${target}: expected ${expected.join(' or ')}, got ${status}`);
    }
    assert.equal(wsUpstream.connections.length, before, 'a path trick reached the websocket upstream');

    // Signed in, the same trick is judged and forwarded as the one normalised path.
    const arriving = wsUpstream.nextConnection();
    assert.equal(await rawUpgrade(stack.publicUrl, '/public/%2e%2e/ws/x?y=1', { cookie: aliceCookie }), 101);
    const seen = await arriving;
    assert.equal(seen.url, '/ws/x?y=1');
    assert.equal(seen.headers['x-forwarded-user'], 'alice');
    // And bob, through the public route, still meets the admins route's policy.
    assert.equal(await rawUpgrade(stack.publicUrl, '/public/../ws-admins/x', { cookie: bobCookie }), 403);
  });
});
