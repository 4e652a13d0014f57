/**
 * An upstream cannot plant the gateway's cookies: a public app answering `Set-Cookie: authgate=<another user's
 * sealed session>` (in any spelling: case, whitespace, `__Host-`/`__Secure-` prefixes, nameless cookies a
 * browser sends as `authgate=…`, chunks, login transactions) must not sign the browser in as that user. The
 * app's other cookies pass unchanged, the gateway's own cookies still work, and a WebSocket upgrade does not
 * relay the upstream's 101 headers at all.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from './ws-fixtures.js';

/** The app's own cookies, which must reach the browser exactly as sent. */
const OTHERS = ['app_pref=dark; Path=/', 'authgateway=1; Path=/', 'session=abc; Path=/; HttpOnly'];

/** Every spelling of a gateway cookie (http publicUrl: base name "authgate") carrying `value`. */
function plantedOnHttp(value: string): string[] {
  return [
    `authgate=${value}; Path=/`,
    `AUTHGATE=${value}; Path=/`,
    `AuthGate=${value}; Path=/; HttpOnly`,
    `authgate =${value}; Path=/`,
    `authgate\t=${value}; Path=/`,
    `__Host-authgate=${value}; Path=/; Secure`,
    `__Secure-authgate=${value}; Path=/; Secure`,
    `__HOST-AUTHGATE=${value}; Path=/; Secure`,
    `=authgate=${value}; Path=/`,
    `= authgate=${value}; Path=/`,
    `=AUTHGATE=${value}; Path=/`,
    `=__Host-authgate=${value}; Path=/`,
    'authgate; Path=/',
    'authgate',
    `authgate_1=${value}; Path=/`,
    `authgate_tx_planted=${value}; Path=/`,
    `AUTHGATE_TX_planted=${value}; Path=/`,
  ];
}

/** Every spelling of a gateway cookie on an https publicUrl (session "__Host-authgate"). */
function plantedOnHttps(value: string): string[] {
  return [
    `__Host-authgate=${value}; Path=/; Secure`,
    `__host-authgate=${value}; Path=/; Secure`,
    `__Secure-authgate=${value}; Path=/; Secure`,
    `authgate=${value}; Path=/`,
    `=__Host-authgate=${value}; Path=/; Secure`,
    '__Host-authgate; Path=/; Secure',
    `__Host-authgate_1=${value}; Path=/; Secure`,
    `__Host-authgate_tx_planted=${value}; Path=/; Secure`,
  ];
}

/**
 * A public app that plants cookies: `/public/plant?v=N` answers with variant N of `variants(value)` (alone when
 * `only` is in the query, else with OTHERS), `/public/plant?all` with every variant (a short value: every
 * sealed session at once would pass the gateway's response header limit) and OTHERS.
 */
async function startPlantingApp(variants: (value?: string) => string[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const picked = url.searchParams.has('all') ? variants('planted') : [variants()[Number(url.searchParams.get('v'))] ?? ''];
    const cookies = url.searchParams.has('only') ? picked : [...picked, ...OTHERS];
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': cookies });
    res.end('planted');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

describe('upstream Set-Cookie cannot plant the gateway’s cookies (http publicUrl)', () => {
  let stack: Stack;
  let app: { url: string; server: Server };
  let ws: RecordingWsUpstream;
  let bobSession = '';

  before(async () => {
    app = await startPlantingApp((value) => plantedOnHttp(value ?? bobSession));
    ws = await startRecordingWsUpstream(['Set-Cookie: authgate=planted-on-101; Path=/', 'Set-Cookie: =authgate=planted; Path=/', 'Set-Cookie: app_ws=1; Path=/']);
    stack = await startStack({
      configure: (c) => {
        c.upstreams.unshift(
          { name: 'planter', path: '/public', url: app.url, auth: 'public' },
          { name: 'ws-planter', path: '/public-ws', url: ws.url, auth: 'public' },
        );
      },
    });
    const bob = await stack.signIn('bob');
    const cookie = bob.jar.get('authgate');
    assert.ok(cookie, 'bob holds a session cookie');
    assert.equal(bob.jar.all().filter((c) => c.name.startsWith('authgate')).length, 1, 'bob’s session fits one cookie');
    bobSession = cookie.value;
  });
  after(async () => {
    await stack.close();
    await Promise.all([closeServer(app.server), ws.close()]);
  });

  /** True when any request reached the protected app as bob. */
  const reachedAsBob = () => stack.upstream.requests.some((r) => r.headers['x-forwarded-user'] === 'bob');

  it('bob’s sealed session really signs in whoever presents it (the attack is real)', async () => {
    const response = await fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', cookie: `authgate=${bobSession}` } });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'bob');
    stack.upstream.requests.length = 0;
  });

  for (const [index, planted] of plantedOnHttp('<bob>').entries()) {
    it(`drops ${JSON.stringify(planted)}: the browser is not signed in as bob, the app's cookies pass`, async () => {
      for (const only of [false, true]) {
        const victim = new BrowserClient();
        const answer = await victim.fetch(`${stack.publicUrl}/public/plant?v=${index}${only ? '&only' : ''}`);
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.headers.getSetCookie(), only ? [] : OTHERS);
        const protectedAnswer = await victim.fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json' } });
        await protectedAnswer.body?.cancel();
        assert.notEqual(protectedAnswer.status, 200, `signed in after ${planted}`);
        assert.ok(!reachedAsBob(), `the app was reached as bob after ${planted}`);
      }
    });
  }

  it('every variant in one answer: none arrives, the app’s cookies arrive verbatim and in order', async () => {
    const victim = new BrowserClient();
    const answer = await victim.fetch(`${stack.publicUrl}/public/plant?all`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.headers.getSetCookie(), OTHERS);
    assert.deepEqual(
      victim.jar.all().map((c) => c.name),
      ['app_pref', 'authgateway', 'session'],
    );
  });

  it('the gateway’s own cookies still work: a planted-on browser signs in as alice, a signed-in alice stays alice', async () => {
    const victim = new BrowserClient();
    await (await victim.fetch(`${stack.publicUrl}/public/plant?all`)).body?.cancel();
    const login = await victim.login(`${stack.publicUrl}/x`, 'alice');
    assert.equal(login.response?.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');

    await (await victim.fetch(`${stack.publicUrl}/public/plant?all`)).body?.cancel();
    const again = await victim.fetch(`${stack.publicUrl}/y`, { headers: { accept: 'application/json' } });
    assert.equal(again.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    assert.ok(!reachedAsBob());
  });

  it('a WebSocket upgrade does not relay the upstream’s 101 headers (its Set-Cookie never reaches the client)', async () => {
    // The upstream does plant on its own 101 (seen directly) …
    const direct = await openWebSocket(ws.url.replace('http', 'ws'));
    assert.match(String(direct.answerHeaders['set-cookie']), /authgate=planted-on-101/);
    direct.ws.close();
    // … but through the gateway the client's 101 is the gateway's own.
    const upgrade = ws.nextUpgrade();
    const proxied = await openWebSocket(`${stack.publicUrl.replace('http', 'ws')}/public-ws/socket`);
    await upgrade;
    assert.equal(await proxied.echo('hello'), 'hello');
    assert.equal(proxied.answerHeaders['set-cookie'], undefined);
    proxied.ws.close();
  });
});

describe('upstream Set-Cookie cannot plant the gateway’s cookies (https publicUrl, __Host- names)', () => {
  let stack: Stack;
  let app: { url: string; server: Server };

  before(async () => {
    app = await startPlantingApp((value) => plantedOnHttps(value ?? 'sealed-elsewhere'));
    stack = await startStack({
      configure: (c) => {
        c.server.publicUrl = c.server.publicUrl.replace('http:', 'https:');
        c.upstreams.unshift({ name: 'planter', path: '/public', url: app.url, auth: 'public' });
      },
    });
  });
  after(async () => {
    await stack.close();
    await closeServer(app.server);
  });

  for (const [index, planted] of plantedOnHttps('<value>').entries()) {
    it(`drops ${JSON.stringify(planted)} and passes the app's cookies`, async () => {
      const answer = await fetch(`${stack.gateway.url}/public/plant?v=${index}`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.headers.getSetCookie(), OTHERS);
    });
  }
});
