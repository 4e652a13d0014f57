/**
 * Sessions are bound to their gateway. Three gateways share `session.keys` and one provider:
 *   A  client `authgate-test`,  publicUrl A (its own address)
 *   B  client `authgate-other`, publicUrl A as well: differs from A only in the client id
 *   C  client `authgate-test`,  publicUrl C (its own address): differs from A only in publicUrl
 * A browser signed in at A that sends its cookies to B or C (browsers keep cookies per host, not per port)
 * is signed out there: a page navigation goes to the provider, an API call gets a 401. A login transaction
 * started at A does not complete at B or C (and costs no token request). Both stores: for Redis all three
 * gateways share one redis-server, so the record is there to be found; it just does not open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { baseConfig, freePort, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type ConfigTree, type StartedGateway } from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { keyInfo } from '../../src/session/keys.js';

const OTHER_CLIENT_ID = 'authgate-other';
const API = { accept: 'application/json' };

for (const store of ['cookie', 'redis'] as const) {
  describe(`a session is bound to its gateway (${store} store)`, () => {
    let idp: StartedIdp;
    let upstream: StartedUpstream;
    let redis: StartedRedis | undefined;
    const gateways: Record<'a' | 'b' | 'c', StartedGateway> = {} as never;

    before(async () => {
      const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
      const urlA = `http://127.0.0.1:${portA}`;
      const urlC = `http://127.0.0.1:${portC}`;
      upstream = await startUpstream();
      if (store === 'redis') redis = await startRedis();
      idp = await startIdp({
        clients: [
          { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${urlA}/oauth2/callback`, `${urlC}/oauth2/callback`] },
          { clientId: OTHER_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${urlA}/oauth2/callback`] },
        ],
      });
      const tree = (port: number, publicUrl: string, clientId: string): ConfigTree => {
        const t = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
        t.oidc.clientId = clientId;
        if (redis) {
          t.session.store = 'redis';
          t.session.redis = { url: redis.url };
        }
        return t;
      };
      gateways.a = await startGateway(tree(portA, urlA, TEST_CLIENT_ID), { port: portA });
      gateways.b = await startGateway(tree(portB, urlA, OTHER_CLIENT_ID), { port: portB });
      gateways.c = await startGateway(tree(portC, urlC, TEST_CLIENT_ID), { port: portC });
    });
    after(async () => {
      await Promise.all(Object.values(gateways).map((g) => g.close()));
      await Promise.all([idp.close(), upstream.close()]);
      await redis?.close();
    });

    /** A browser signed in at A; its jar sends A's cookies to B and C too (same host, other port). */
    async function signedInAtA(login: string): Promise<BrowserClient> {
      const browser = new BrowserClient();
      const result = await browser.login(`${gateways.a.url}/`, login);
      assert.equal(result.response?.status, 200, 'signed in at A');
      const atA = await browser.fetch(`${gateways.a.url}/api/me`, { headers: API });
      assert.equal(atA.status, 200, 'the session works at A');
      return browser;
    }

    for (const [peer, differs] of [
      ['b', 'only in client id'],
      ['c', 'only in publicUrl'],
    ] as const) {
      it(`treats A's session cookie as signed out at a gateway that differs ${differs}`, async () => {
        const browser = await signedInAtA('alice');
        const before = upstream.requests.length;
        const api = await browser.fetch(`${gateways[peer].url}/api/me`, { headers: API });
        assert.equal(api.status, 401, 'an API call with A’s cookie is unauthenticated');
        const page = await browser.fetch(`${gateways[peer].url}/some/page`);
        assert.equal(page.status, 302, 'a page navigation is sent to sign in');
        assert.equal(new URL(page.headers.get('location') ?? '').origin, idp.issuer, 'to the provider');
        assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
      });

      it(`does not complete A's login transaction at a gateway that differs ${differs}`, async () => {
        const browser = new BrowserClient();
        const { callbackUrl } = await browser.login(`${gateways.a.url}/`, 'bob', { stopAtCallback: true });
        const callback = new URL(callbackUrl);
        const cookie = browser.jar.cookieHeader(callback) ?? '';
        assert.match(cookie, /authgate_tx_/, 'the browser holds the transaction cookie');
        const tokenCalls = idp.tokenRequests.length;
        const atPeer = await fetch(`${gateways[peer].url}/oauth2/callback${callback.search}`, { headers: { ...API, cookie }, redirect: 'manual' });
        assert.equal(atPeer.status, 400);
        assert.equal(((await atPeer.json()) as { error: string }).error, 'AUTHGATE_ERR_LOGIN_EXPIRED');
        assert.ok(!atPeer.headers.getSetCookie().some((c) => /^authgate=[^;]/.test(c)), 'no session cookie is set');
        assert.equal(idp.tokenRequests.length, tokenCalls, 'no code was sent to the token endpoint');
        // The same transaction still completes where it began.
        const atA = await browser.follow(callbackUrl);
        assert.equal(atA.response.status, 200, 'A completes its own login');
      });
    }
  });
}

describe('the key binding', () => {
  it('differs for issuer, client id and publicUrl origin, and cannot be confused by where one ends', () => {
    const base = { issuer: 'https://id.example.com', clientId: 'app', publicUrl: 'https://app.example.com' };
    const infos = [
      keyInfo('session', base),
      keyInfo('session', { ...base, issuer: 'https://id.example.com/realms/other' }),
      keyInfo('session', { ...base, clientId: 'app2' }),
      keyInfo('session', { ...base, publicUrl: 'https://app.example.com:8443' }),
      keyInfo('session', { ...base, issuer: 'https://id.example.com","app', clientId: '' }),
      keyInfo('login-transaction', base),
    ];
    assert.equal(new Set(infos).size, infos.length);
    assert.equal(keyInfo('session', { ...base, publicUrl: 'https://APP.example.com:443/base/' }), infos[0], 'only the origin counts');
  });
});
