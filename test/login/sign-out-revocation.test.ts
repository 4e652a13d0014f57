/**
 * Sign-out hands the session's refresh token back to the provider (RFC 7009) when the provider offers a
 * revocation endpoint: the provider ends the grant, so a token copied out of the session (the access token
 * the app saw) stops working at the provider too. A provider that refuses, fails or does not answer never
 * stops the sign-out: the session here is ended first, and the gateway says why once, without the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';
import { createTestClock } from '../helpers/test-clock.js';

/** What the provider's userinfo endpoint answers to `accessToken` (200 while its grant lives, 401 after). */
async function userinfoStatus(stack: Stack, accessToken: string): Promise<number> {
  const discovery = (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as { userinfo_endpoint: string };
  const answer = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  await answer.body?.cancel();
  return answer.status;
}

/** Signs `login` in and returns the browser and the access token the app received. */
async function signedIn(stack: Stack, login: string): Promise<{ browser: BrowserClient; accessToken: string }> {
  const browser = await stack.signIn(login);
  const accessToken = String(stack.upstream.last()?.headers.authorization).replace(/^Bearer /, '');
  assert.equal(await userinfoStatus(stack, accessToken), 200, 'the token works at the provider while signed in');
  return { browser, accessToken };
}

/** Signs the browser out (GET, as a link does); asserts the 302 and that the browser is signed out here. */
async function signOut(stack: Stack, browser: BrowserClient): Promise<void> {
  const response = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/bye`);
  assert.equal(response.status, 302);
  await response.body?.cancel();
  const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
  assert.equal(me.status, 401, 'signed out here');
  await me.body?.cancel();
}

const revocations = (stack: Stack) => stack.idp.clientRequests.filter((r) => r.endpoint === 'revocation');
const signOutLines = (stack: Stack) => stack.gateway.logEntries().filter((e) => String(e.msg).startsWith('sign-out:'));

/** No log line holds either token of the session. */
function assertNoTokenIn(stack: Stack, accessToken: string): void {
  for (const line of stack.gateway.logs) assert.ok(!line.includes(accessToken), 'the access token is never logged');
}

describe('sign-out revokes the refresh token at the provider', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('the provider ends the grant: the access token the app saw no longer works there', async () => {
    const { browser, accessToken } = await signedIn(stack, 'alice');
    await signOut(stack, browser);
    const [revocation] = revocations(stack);
    assert.equal(revocations(stack).length, 1);
    assert.equal(revocation?.status, 200);
    assert.equal(revocation?.tokenTypeHint, 'refresh_token');
    assert.equal(revocation?.authMethod, 'client_secret_basic');
    assert.equal(revocation?.clientId, TEST_CLIENT_ID);
    assert.equal(await userinfoStatus(stack, accessToken), 401);
    assert.deepEqual(
      signOutLines(stack).map((e) => [e.level, e.revoked]),
      [['info', 'refresh_token']],
    );
    assertNoTokenIn(stack, accessToken);
  });

  it('another site cannot make the gateway revoke: a cross-site or cross-origin sign-out only asks to confirm', async () => {
    const { browser, accessToken } = await signedIn(stack, 'bob');
    const before = revocations(stack).length;
    const elsewhere: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }];
    for (const headers of elsewhere) {
      for (const method of ['GET', 'POST']) {
        const answer = await browser.fetch(`${stack.publicUrl}/oauth2/sign_out?rd=/`, { method, headers });
        assert.equal(answer.status, 200, `${method} ${JSON.stringify(headers)}: the confirmation page`);
        await answer.body?.cancel();
      }
    }
    assert.equal(revocations(stack).length, before, 'no revocation call');
    assert.equal(await userinfoStatus(stack, accessToken), 200, 'the token still works at the provider');
    const me = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    assert.equal(me.status, 200, 'still signed in here');
    await me.body?.cancel();
  });

  it('a provider that answers 503: signed out all the same, one warning, the grant left to expire', async () => {
    stack.idp.revocation.fail('http-503');
    try {
      const before = signOutLines(stack).length;
      const { browser, accessToken } = await signedIn(stack, 'bob');
      await signOut(stack, browser);
      assert.equal(revocations(stack).at(-1)?.status, 503);
      const lines = signOutLines(stack).slice(before);
      assert.deepEqual(
        lines.map((e) => [e.level, e.reason, e.providerStatus]),
        [['warn', 'unavailable', 503]],
      );
      assert.equal(await userinfoStatus(stack, accessToken), 200, 'nothing was revoked');
      assertNoTokenIn(stack, accessToken);
    } finally {
      stack.idp.revocation.fail(null);
    }
  });

  it('a provider that does not answer: the sign-out goes on without it, and the revocation lands later', async () => {
    stack.idp.revocation.fail('hang');
    const before = signOutLines(stack).length;
    const { browser, accessToken } = await signedIn(stack, 'alice');
    const held = stack.idp.revocation.whenHeld();
    await signOut(stack, browser);
    await held;
    const answered = stack.idp.revocation.nextRecord();
    stack.idp.revocation.fail(null);
    assert.equal((await answered).status, 200);
    assert.equal(await userinfoStatus(stack, accessToken), 401, 'revoked once the provider answered');
    const lines = signOutLines(stack).slice(before);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(String(lines[0]?.msg), /did not answer the revocation within 2000 ms/);
    assertNoTokenIn(stack, accessToken);
  });
});

describe('a cookie copied before sign-out (cookie store)', () => {
  const clock = createTestClock();
  let stack: Stack;
  before(async () => {
    stack = await startStack({ now: clock.now, idp: { accessTokenTtl: 300 } });
  });
  after(() => stack.close());

  it('works only until its access token is due: the refresh is refused, and the copy is signed out', async () => {
    const { browser } = await signedIn(stack, 'alice');
    const copied = `authgate=${browser.jar.get('authgate')?.value ?? ''}`;
    await signOut(stack, browser);
    const asCopy = (path: string) => fetch(`${stack.publicUrl}${path}`, { headers: { accept: 'application/json', cookie: copied } });
    const still = await asCopy('/app');
    assert.equal(still.status, 200, 'the cookie store cannot end a copy at once (docs/security.md)');
    await still.body?.cancel();
    const refreshes = stack.idp.refreshGrants();
    clock.advance(260_000); // within refreshSkew (60 s) of the token's expiry, as the gateway sees it
    const due = await asCopy('/app');
    assert.equal(due.status, 401, 'the revoked refresh token cannot renew the copy');
    await due.body?.cancel();
    assert.equal(stack.idp.refreshGrants(), refreshes + 1);
    assert.equal(stack.idp.tokenRequests.at(-1)?.status, 400, 'the provider refused the revoked grant');
  });
});

describe('a provider without a revocation endpoint', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ idp: { revocation: false } });
  });
  after(() => stack.close());

  it('is not asked: the sign-out ends the session here and at its end-session endpoint, silently', async () => {
    const { browser } = await signedIn(stack, 'alice');
    await signOut(stack, browser);
    assert.equal(revocations(stack).length, 0);
    assert.deepEqual(signOutLines(stack), []);
  });
});

describe('sign-out of a DPoP-bound session', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ idp: { dpop: { boundClients: [TEST_CLIENT_ID] } }, configure: (c) => (c.oidc.dpop = true) });
  });
  after(() => stack.close());

  it('revokes with the same client authentication; the provider takes it without a proof (RFC 7009 needs none)', async () => {
    const browser = await stack.signIn('alice');
    assert.match(String(stack.upstream.last()?.headers.authorization), /^DPoP /, 'the session holds a bound token');
    await signOut(stack, browser);
    assert.deepEqual(
      revocations(stack).map((r) => [r.status, r.tokenTypeHint, r.authMethod]),
      [[200, 'refresh_token', 'client_secret_basic']],
    );
  });
});
