/**
 * Shared by the back-channel logout tests (test/routes/backchannel-logout*.test.ts): a gateway with
 * back-channel logout on and a third user, and helpers that read a browser's sealed session, tell signed in
 * from signed out, build and sign logout tokens as the provider does, and post them to the endpoint.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import type { SignJwtOptions } from '../helpers/idp.js';
import { sealBoxesFor } from '../helpers/seal.js';

/** The events member that makes a JWT a back-channel logout token. */
export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** The gateway's back-channel logout endpoint. */
export const ENDPOINT = '/oauth2/backchannel_logout';
/** The content type providers post logout tokens with. */
export const FORM = 'application/x-www-form-urlencoded';

/** The box that opens the gateway's session cookies. */
export type SessionBox = Awaited<ReturnType<typeof sealBoxesFor>>['session'];

/** One answer of the endpoint: its status and, for an error, its JSON body. */
export interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** Starts a gateway with back-channel logout on and carol as an extra user; returns it and its session box. */
export async function startBackchannelStack(): Promise<{ stack: Stack; sessionBox: SessionBox }> {
  const stack = await startStack({ backchannelLogout: true });
  stack.idp.addUser({ sub: 'carol', email: 'carol@example.net', preferredUsername: 'carol', name: 'Carol Victim', groups: [] });
  const { session: sessionBox } = await sealBoxesFor([TEST_SESSION_KEY], stack);
  return { stack, sessionBox };
}

/** The helpers of one test file, reading the stack and session box when called (they are set in `before`). */
export function backchannelHelpers(stackOf: () => Stack, sessionBoxOf: () => SessionBox) {
  /** The session document a browser carries, read from its (possibly chunked) session cookie. */
  function openSession(browser: BrowserClient): Record<string, unknown> {
    const part = (i: number) => browser.jar.get(i === 0 ? 'authgate' : `authgate_${i}`)?.value;
    let sealed = '';
    for (let i = 0, value = part(0); value !== undefined; i += 1, value = part(i)) sealed += value;
    const opened = sessionBoxOf().open(sealed);
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
    const response = await browser.fetch(`${stackOf().publicUrl}/api/me`, { headers: { accept: 'application/json' } });
    await response.body?.cancel();
    assert.ok(response.status < 500, `API request answered ${response.status}`);
    return response.status;
  }

  /** Asserts the browser's session still works. */
  async function assertSignedIn(browser: BrowserClient, who: string): Promise<void> {
    assert.equal(await apiStatus(browser), 200, `${who}'s session still works`);
  }

  /** Asserts the browser is signed out: 401 for an API call, sent to the provider for a page. */
  async function assertSignedOut(browser: BrowserClient, who: string): Promise<void> {
    assert.equal(await apiStatus(browser), 401, `${who}'s API request is 401`);
    const page = await browser.fetch(`${stackOf().publicUrl}/some/page`);
    await page.body?.cancel();
    assert.equal(page.status, 302, `${who}'s browser request is sent to the provider`);
    assert.equal(new URL(page.headers.get('location') ?? '', stackOf().publicUrl).origin, stackOf().idp.issuer);
  }

  /** Claims exactly like the provider's own logout tokens; an `undefined` override removes the claim. */
  function logoutClaims(target: { sub?: string; sid?: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: stackOf().idp.issuer,
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

  /** Signs logout-token claims with the provider's key, as the provider does (typ logout+jwt). */
  function sign(claims: Record<string, unknown>, options: SignJwtOptions = {}): Promise<string> {
    return stackOf().idp.signJwt(claims, { typ: 'logout+jwt', ...options });
  }

  /** One request to the endpoint; checks what every answer must have (no-store, JSON errors, no 5xx). */
  async function send(init: { method?: string; body?: string; contentType?: string; query?: string }): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.contentType !== undefined) headers['content-type'] = init.contentType;
    const response = await fetch(`${stackOf().publicUrl}${ENDPOINT}${init.query ?? ''}`, {
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

  /** The value of authgate_backchannel_logouts_total for one outcome, summed over providers (0 before the first count). */
  async function logoutCount(outcome: string): Promise<number> {
    const text = await (await fetch(`${stackOf().publicUrl}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith(`authgate_backchannel_logouts_total{outcome="${outcome}",`));
    return lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  return { openSession, sessionOf, apiStatus, assertSignedIn, assertSignedOut, logoutClaims, sign, send, postToken, logoutCount };
}
