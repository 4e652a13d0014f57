/**
 * `upstreams[].accessToken.audience`: the session's access token exchanged (RFC 8693) at the real test
 * provider for one with the upstream's audience; what the upstream received and what the provider recorded
 * (audience, subject token, client); cached until the session's own token changes; a refused audience is that
 * upstream's 502 while the session and the other upstreams go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, TEST_CLIENT_ID, type Stack } from '../helpers/gateway.js';
import { TOKEN_EXCHANGE } from '../helpers/idp-upstream-tokens.js';
import { createTestClock } from '../helpers/test-clock.js';

const API = { accept: 'application/json' };

describe('upstreams[].accessToken.audience (token exchange)', () => {
  let stack: Stack;
  const clock = createTestClock();
  before(async () => {
    stack = await startStack({
      now: clock.now,
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.upstreams.push({ name: 'orders', path: '/orders', url, accessToken: { audience: 'orders-api', scopes: ['api'], header: 'X-Forwarded-Access-Token' } });
        c.upstreams.push({ name: 'refused', path: '/refused', url, accessToken: { audience: 'refused-api' } });
      },
    });
    stack.idp.upstreamTokens.refusedAudiences.add('refused-api');
  });
  after(() => stack.close());

  async function seen(browser: BrowserClient, path: string, headers: Record<string, string> = API) {
    const response = await browser.fetch(`${stack.publicUrl}${path}`, { headers });
    const body = (await response.json()) as { headers?: Record<string, string> };
    return { status: response.status, headers: body.headers ?? {} };
  }
  const exchanges = () => stack.idp.tokenRequests.filter((r) => r.grantType === TOKEN_EXCHANGE);

  it('sends the exchanged token, raw, in the configured header; client copies never pass', async () => {
    const alice = await stack.signIn('alice');
    const session = (await seen(alice, '/x')).headers.authorization?.replace(/^Bearer /, '');
    const answer = await seen(alice, '/orders/a', { ...API, 'x-forwarded-access-token': 'forged', x_forwarded_access_token: 'forged' });
    assert.equal(answer.status, 200);
    const token = answer.headers['x-forwarded-access-token'] ?? '';
    assert.notEqual(token, 'forged');
    assert.deepEqual(Object.keys(answer.headers).filter((h) => h.replaceAll('_', '-') === 'x-forwarded-access-token'), ['x-forwarded-access-token']);
    assert.equal(answer.headers.authorization, undefined); // no token in Authorization on this route
    const claims = decodeJwt(token);
    assert.equal(claims.aud, 'orders-api');
    assert.equal(claims.scope, 'api');
    assert.equal(claims.sub, 'alice');
    const recorded = stack.idp.upstreamTokens.exchanges.at(-1);
    assert.deepEqual(
      { clientId: recorded?.clientId, audience: recorded?.audience, scope: recorded?.scope, subjectSub: recorded?.subjectSub, subjectJti: recorded?.subjectJti },
      { clientId: TEST_CLIENT_ID, audience: 'orders-api', scope: 'api', subjectSub: 'alice', subjectJti: session },
    );
    // Cached: the next request makes no exchange.
    const count = exchanges().length;
    assert.equal((await seen(alice, '/orders/b')).headers['x-forwarded-access-token'], token);
    assert.equal(exchanges().length, count);
  });

  it('exchanges once for many concurrent requests, and again once the session token changed', async () => {
    const bob = await stack.signIn('bob');
    const count = exchanges().length;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => seen(bob, `/orders/${i}`)));
    assert.equal(new Set(answers.map((a) => a.headers['x-forwarded-access-token'])).size, 1);
    assert.equal(exchanges().length - count, 1);
    // The session refreshes (its token is due): the exchanged token came from the old one, so a new exchange.
    clock.advance(3_560_000);
    const refreshed = await seen(bob, '/orders/z');
    clock.reset();
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.headers['x-forwarded-access-token'], answers[0]?.headers['x-forwarded-access-token']);
    assert.equal(exchanges().length - count, 2);
  });

  it('answers 502 on that upstream when the provider refuses the audience; the session and other upstreams go on', async () => {
    const alice = await stack.signIn('alice');
    const refused = await alice.fetch(`${stack.publicUrl}/refused/x`, { headers: API });
    assert.equal(refused.status, 502);
    assert.equal(stack.idp.upstreamTokens.exchanges.at(-1)?.error, 'invalid_target');
    assert.equal((await seen(alice, '/orders/x')).status, 200);
    assert.equal((await alice.fetch(`${stack.publicUrl}/oauth2/userinfo`)).status, 200);
    const line = stack.gateway.logEntries().find((e) => e.msg === 'upstream token refused by the provider' && e.upstream === 'refused');
    assert.equal(line?.oauthError, 'invalid_target');
  });
});
