/**
 * POST /oauth2/backchannel_logout refuses every token it must (bad signature or algorithm, wrong iss, aud or
 * times, missing claims, an ID token, a replay, unknown kids, malformed bodies): 400, and the session the
 * token aims at still works. Real HTTP against a real gateway and a real oidc-provider.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import { backchannelHelpers, FORM, LOGOUT_EVENT, startBackchannelStack, type Answer, type SessionBox } from './backchannel-fixtures.js';

describe('back-channel logout', () => {
  let stack: Stack;
  let sessionBox: SessionBox;

  before(async () => {
    ({ stack, sessionBox } = await startBackchannelStack());
  });
  after(() => stack.close());

  const { openSession, sessionOf, apiStatus, assertSignedOut, logoutClaims, sign, send, postToken } = backchannelHelpers(() => stack, () => sessionBox);

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
});
