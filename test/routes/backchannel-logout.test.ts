/**
 * POST /oauth2/backchannel_logout (OpenID Connect Back-Channel Logout 1.0) with the cookie store: the
 * provider's own logout tokens, forged tokens signed with the provider's key, and tokens that must be
 * refused (400, nothing ended), all over real HTTP against a real gateway and a real oidc-provider.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import type { SignJwtOptions } from '../helpers/idp.js';
import { sealBoxesFor } from '../helpers/seal.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ENDPOINT = '/oauth2/backchannel_logout';
const FORM = 'application/x-www-form-urlencoded';

describe('back-channel logout', () => {
  let stack: Stack;
  let sessionBox: Awaited<ReturnType<typeof sealBoxesFor>>['session'];

  before(async () => {
    stack = await startStack({ backchannelLogout: true });
    stack.idp.addUser({ sub: 'carol', email: 'carol@example.net', preferredUsername: 'carol', name: 'Carol Victim', groups: [] });
    ({ session: sessionBox } = await sealBoxesFor([TEST_SESSION_KEY], stack));
  });
  after(() => stack.close());

  /** The session document a browser carries, read from its (possibly chunked) session cookie. */
  function openSession(browser: BrowserClient): Record<string, unknown> {
    const part = (i: number) => browser.jar.get(i === 0 ? 'authgate' : `authgate_${i}`)?.value;
    let sealed = '';
    for (let i = 0, value = part(0); value !== undefined; i += 1, value = part(i)) sealed += value;
    const opened = sessionBox.open(sealed);
    assert.ok(opened, 'the browser holds a session cookie the gateway sealed');
    return opened.data;
  }

  /** Whose session a browser holds and its provider sid. */
  function sessionOf(browser: BrowserClient): { sub: string; providerSid: string } {
    const data = openSession(browser);
    const identity = data.identity as { sub: string };
    const providerSid = data.providerSid;
    assert.equal(typeof providerSid, 'string', 'the session remembers the provider sid');
    return { sub: identity.sub, providerSid: providerSid as string };
  }

  /** An API request through the gateway with the browser's cookies: its status (200 signed in, 401 not). */
  async function apiStatus(browser: BrowserClient): Promise<number> {
    const response = await browser.fetch(`${stack.publicUrl}/api/me`, { headers: { accept: 'application/json' } });
    await response.body?.cancel();
    assert.ok(response.status < 500, `API request answered ${response.status}`);
    return response.status;
  }

  async function assertSignedIn(browser: BrowserClient, who: string): Promise<void> {
    assert.equal(await apiStatus(browser), 200, `${who}'s session still works`);
  }

  async function assertSignedOut(browser: BrowserClient, who: string): Promise<void> {
    assert.equal(await apiStatus(browser), 401, `${who}'s API request is 401`);
    const page = await browser.fetch(`${stack.publicUrl}/some/page`);
    await page.body?.cancel();
    assert.equal(page.status, 302, `${who}'s browser request is sent to the provider`);
    assert.equal(new URL(page.headers.get('location') ?? '', stack.publicUrl).origin, stack.idp.issuer);
  }

  /** Claims exactly like the provider's own logout tokens; an `undefined` override removes the claim. */
  function logoutClaims(target: { sub?: string; sid?: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: stack.idp.issuer,
      aud: TEST_CLIENT_ID,
      iat,
      exp: iat + 120,
      jti: randomUUID(),
      ...(target.sub !== undefined ? { sub: target.sub } : {}),
      ...(target.sid !== undefined ? { sid: target.sid } : {}),
      events: { [LOGOUT_EVENT]: {} },
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return claims;
  }

  function sign(claims: Record<string, unknown>, options: SignJwtOptions = {}): Promise<string> {
    return stack.idp.signJwt(claims, { typ: 'logout+jwt', ...options });
  }

  interface Answer {
    status: number;
    body: Record<string, unknown> | undefined;
  }

  /** One request to the endpoint; checks what every answer must have (no-store, JSON errors, no 5xx). */
  async function send(init: { method?: string; body?: string; contentType?: string; query?: string }): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.contentType !== undefined) headers['content-type'] = init.contentType;
    const response = await fetch(`${stack.publicUrl}${ENDPOINT}${init.query ?? ''}`, {
      method: init.method ?? 'POST',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: 'manual',
    });
    const text = await response.text();
    assert.ok(response.status < 500, `answered ${response.status}: ${text}`);
    assert.match(response.headers.get('cache-control') ?? '', /no-store/, `Cache-Control: no-store on the ${response.status} answer`);
    let body: Record<string, unknown> | undefined;
    if (response.status >= 400) {
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/, `the ${response.status} answer is JSON`);
      body = JSON.parse(text) as Record<string, unknown>;
      assert.equal(typeof body.error, 'string', `the ${response.status} answer names an error: ${text}`);
    }
    return { status: response.status, body };
  }

  const postToken = (token: string) => send({ body: new URLSearchParams({ logout_token: token }).toString(), contentType: FORM });

  /** The value of authgate_backchannel_logouts_total for one outcome (0 before the first count). */
  async function logoutCount(outcome: string): Promise<number> {
    const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`authgate_backchannel_logouts_total{outcome="${outcome}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  }

  it("the provider's own logout ends alice's session, not bob's, and not alice's next login", async () => {
    const alice = await stack.signIn('alice');
    const bob = await stack.signIn('bob');
    await assertSignedIn(alice, 'alice');
    await assertSignedIn(bob, 'bob');
    const accepted = await logoutCount('accepted');

    await stack.idp.backchannelLogout('alice'); // rejects unless the gateway answered 200

    assert.equal(await logoutCount('accepted'), accepted + 1);
    await assertSignedOut(alice, 'alice');
    await assertSignedIn(bob, 'bob');
    const aliceAgain = await stack.signIn('alice');
    await assertSignedIn(aliceAgain, 'alice (new login)');
    await assertSignedIn(bob, 'bob');
  });

  it('a valid token naming a sid ends exactly that session', async () => {
    const first = await stack.signIn('alice');
    const second = await stack.signIn('alice');
    const bob = await stack.signIn('bob');
    const target = sessionOf(first);
    assert.equal(target.sub, 'alice');
    assert.notEqual(sessionOf(second).providerSid, target.providerSid, 'two browsers, two provider sessions');

    const answer = await postToken(await sign(logoutClaims({ sub: 'alice', sid: target.providerSid })));
    assert.equal(answer.status, 200);

    await assertSignedOut(first, 'alice (the named sid)');
    await assertSignedIn(second, "alice's other session");
    await assertSignedIn(bob, 'bob');

    // With a sid, only sessions of that provider session end, even though sub names alice.
    const other = await postToken(await sign(logoutClaims({ sub: 'alice', sid: `unknown-${randomUUID()}` })));
    assert.equal(other.status, 200);
    await assertSignedIn(second, "alice's other session");
  });

  it('accepts the form content type with parameters and in any case, as providers send it', async () => {
    const browser = await stack.signIn('bob');
    const token = await sign(logoutClaims({ sid: sessionOf(browser).providerSid, sub: 'bob' }));
    const answer = await send({ body: new URLSearchParams({ logout_token: token }).toString(), contentType: 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' });
    assert.equal(answer.status, 200);
    await assertSignedOut(browser, 'bob');
  });

  it('a valid token naming only a sub ends all of that user’s sessions, and a later login works', async () => {
    const first = await stack.signIn('alice');
    const second = await stack.signIn('alice');
    const bob = await stack.signIn('bob');

    const answer = await postToken(await sign(logoutClaims({ sub: 'alice' })));
    assert.equal(answer.status, 200);

    await assertSignedOut(first, 'alice (first session)');
    await assertSignedOut(second, 'alice (second session)');
    await assertSignedIn(bob, 'bob');
    const later = await stack.signIn('alice');
    await assertSignedIn(later, 'alice (login after the logout)');
  });

  describe('refused tokens: 400 and nothing ends', () => {
    let victim: BrowserClient;
    let target: { sub: string; providerSid: string };

    before(async () => {
      victim = await stack.signIn('carol');
      target = sessionOf(victim);
    });

    /** A token aimed at the victim's session (sid and sub), so wrongly accepting it would end the session. */
    const aimed = (overrides: Record<string, unknown> = {}) => logoutClaims({ sub: target.sub, sid: target.providerSid }, overrides);

    /** Sends one refused request and checks the victim survived; a new victim signs in if not, so cases stay independent. */
    async function expectRefused(answer: Promise<Answer>, expected: number[] = [400]): Promise<void> {
      const { status, body } = await answer;
      const alive = (await apiStatus(victim)) === 200;
      if (!alive) {
        victim = await stack.signIn('carol');
        target = sessionOf(victim);
      }
      assert.ok(expected.includes(status), `expected ${expected.join(' or ')}, got ${status} ${JSON.stringify(body)}`);
      if (status === 400) assert.equal(typeof body?.error_description, 'string', `a 400 says why: ${JSON.stringify(body)}`);
      assert.ok(alive, 'the victim session must still work');
    }

    it('signed with a key that is not in the JWKS', async () => {
      await expectRefused(postToken(await sign(aimed(), { key: 'other' })));
      await expectRefused(postToken(await sign(aimed(), { key: 'other', kid: null })));
    });

    it('alg "none" (unsigned)', async () => {
      await expectRefused(postToken(await sign(aimed(), { alg: 'none' })));
      await expectRefused(postToken(await sign(aimed(), { alg: 'none', kid: null })));
    });

    it('HS256 with the client secret', async () => {
      await expectRefused(postToken(await sign(aimed(), { alg: 'HS256' })));
      await expectRefused(postToken(await sign(aimed(), { alg: 'HS256', kid: null })));
    });

    it("HS256 keyed with the provider's public key material (algorithm confusion)", async () => {
      const jwksText = await (await fetch(stack.idp.jwksUri)).text();
      const jwk = (JSON.parse(jwksText) as { keys: JsonWebKey[] }).keys[0];
      assert.ok(jwk);
      const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
      const secrets = [
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        jwksText,
        JSON.stringify(jwk),
        String(jwk.n),
      ];
      for (const secret of secrets) {
        await expectRefused(postToken(await sign(aimed(), { alg: 'HS256', secret })));
      }
    });

    it('wrong iss', async () => {
      await expectRefused(postToken(await sign(aimed({ iss: 'https://evil.example' }))));
      await expectRefused(postToken(await sign(aimed({ iss: `${stack.idp.issuer}/` }))));
      await expectRefused(postToken(await sign(aimed({ iss: undefined }))));
    });

    it('wrong aud', async () => {
      await expectRefused(postToken(await sign(aimed({ aud: 'another-client' }))));
      await expectRefused(postToken(await sign(aimed({ aud: ['another-client', 'yet-another'] }))));
      await expectRefused(postToken(await sign(aimed({ aud: undefined }))));
    });

    it('missing iat', async () => {
      await expectRefused(postToken(await sign(aimed({ iat: undefined }))));
    });

    it('iat an hour old (exp still in the future)', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectRefused(postToken(await sign(aimed({ iat: now - 3600, exp: now + 120 }))));
    });

    it('iat an hour in the future', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectRefused(postToken(await sign(aimed({ iat: now + 3600, exp: now + 3720 }))));
    });

    it('exp in the past', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectRefused(postToken(await sign(aimed({ iat: now - 100, exp: now - 60 }))));
    });

    it('missing events, or events without the back-channel logout member', async () => {
      await expectRefused(postToken(await sign(aimed({ events: undefined }))));
      await expectRefused(postToken(await sign(aimed({ events: { 'http://schemas.openid.net/event/other': {} } }))));
      await expectRefused(postToken(await sign(aimed({ events: { [LOGOUT_EVENT]: 'yes' } }))));
      await expectRefused(postToken(await sign(aimed({ events: [LOGOUT_EVENT] }))));
    });

    it('with a nonce', async () => {
      await expectRefused(postToken(await sign(aimed({ nonce: 'n-0S6_WzA2Mj' }))));
    });

    it('with neither sid nor sub', async () => {
      await expectRefused(postToken(await sign(logoutClaims({}))));
      await expectRefused(postToken(await sign(logoutClaims({}, { sub: 42, sid: { id: target.providerSid } }))));
    });

    it('missing jti', async () => {
      await expectRefused(postToken(await sign(aimed({ jti: undefined }))));
    });

    it("the user's own ID token from the login (provider-signed, right aud, but no events and a nonce)", async () => {
      const idToken = (openSession(victim).tokens as { idToken?: string }).idToken;
      assert.ok(idToken, 'the session holds the ID token');
      await expectRefused(postToken(idToken));
    });

    it('a replayed token: the first use is 200, the second 400', async () => {
      const token = await sign(logoutClaims({ sub: 'nobody', sid: `unused-${randomUUID()}` }));
      assert.equal((await postToken(token)).status, 200);
      const replay = await postToken(token);
      assert.equal(replay.status, 400);
      // A replayed sub-only token would end every session of carol's created before it arrived: also the
      // one she signed in with after the first use.
      const bySub = await sign(logoutClaims({ sub: target.sub }));
      const ended = victim;
      assert.equal((await postToken(bySub)).status, 200);
      await assertSignedOut(ended, 'carol (ended by the first use)');
      victim = await stack.signIn('carol');
      target = sessionOf(victim);
      await expectRefused(postToken(bySub));
    });

    it('an unknown kid (and the gateway keeps working)', async () => {
      await expectRefused(postToken(await sign(aimed(), { kid: 'no-such-kid' })));
      await expectRefused(postToken(await sign(aimed(), { kid: 'no-such-kid', key: 'other' })));
      await expectRefused(postToken(await sign(aimed(), { kid: '../../etc/passwd' })));
      const ping = await fetch(`${stack.publicUrl}/ping`);
      assert.equal(ping.status, 200);
      // A valid token is still accepted after the unknown kids (the JWKS cache is not poisoned).
      assert.equal((await postToken(await sign(logoutClaims({ sid: `unused-${randomUUID()}` })))).status, 200);
    });

    it('malformed tokens', async () => {
      await expectRefused(postToken('abc'));
      await expectRefused(postToken('a.b.c'));
      await expectRefused(postToken('eyJhbGciOiJSUzI1NiJ9.e30.'));
      const valid = await sign(aimed());
      await expectRefused(postToken(`${valid.slice(0, -4)}AAAA`)); // signature tampered with
      const [header, , signature] = valid.split('.');
      const payload = Buffer.from(JSON.stringify(aimed({ sub: 'bob' }))).toString('base64url');
      await expectRefused(postToken(`${header}.${payload}.${signature}`)); // claims swapped under a valid signature
    });

    it('an empty body, a form without logout_token, the token in the query string', async () => {
      await expectRefused(send({ body: '', contentType: FORM }));
      await expectRefused(send({}));
      await expectRefused(send({ body: 'logout_token=', contentType: FORM }));
      await expectRefused(send({ body: 'token=abc', contentType: FORM }));
      const token = await sign(aimed());
      await expectRefused(send({ query: `?logout_token=${token}` }));
      await expectRefused(send({ query: `?logout_token=${token}`, body: '', contentType: FORM }));
    });

    it('a body over the size limit', async () => {
      const token = await sign(aimed({ padding: 'x'.repeat(100 * 1024) }));
      await expectRefused(postToken(token), [400, 413]);
    });

    it('a JSON or text body carrying a valid token', async () => {
      const token = await sign(aimed());
      await expectRefused(send({ body: JSON.stringify({ logout_token: token }), contentType: 'application/json' }));
      await expectRefused(send({ body: `logout_token=${token}`, contentType: 'text/plain' }));
    });

    it('GET is 404 or 405, not 500', async () => {
      const token = await sign(aimed());
      await expectRefused(send({ method: 'GET' }), [404, 405]);
      await expectRefused(send({ method: 'GET', query: `?logout_token=${token}` }), [404, 405]);
    });

    it('no exp claim (Back-Channel Logout 1.0 §2.4: exp is REQUIRED)', async () => {
      await expectRefused(postToken(await sign(aimed({ exp: undefined }))));
    });
  });

  it('counts accepted, invalid and replayed logouts in /metrics', async () => {
    const before = { accepted: await logoutCount('accepted'), invalid: await logoutCount('invalid'), replayed: await logoutCount('replayed') };
    const token = await sign(logoutClaims({ sid: `unused-${randomUUID()}` }));
    assert.equal((await postToken(token)).status, 200);
    assert.equal((await postToken(token)).status, 400);
    assert.equal((await postToken('abc')).status, 400);
    assert.equal((await postToken(await sign(logoutClaims({ sid: 'x' }), { key: 'other' }))).status, 400);
    assert.equal((await send({ body: '', contentType: FORM })).status, 400);
    assert.deepEqual(
      { accepted: await logoutCount('accepted'), invalid: await logoutCount('invalid'), replayed: await logoutCount('replayed') },
      { accepted: before.accepted + 1, invalid: before.invalid + 3, replayed: before.replayed + 1 },
    );
  });
});
