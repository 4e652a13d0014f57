/**
 * The idle clock with the cookie store: once a tenth of the idle timeout has passed, a request re-seals the
 * session with a new `lastSeenAt` and sends the new cookie. Requests that still carry the old cookie (sent
 * before the new one arrived, or from a client that ignores Set-Cookie) get that same new cookie, not a new
 * seal each; the new cookie, once sent, needs no rewrite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** The session cookie's value in a response's Set-Cookie headers, if it sets one. */
const sessionCookieSet = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((line) => line.startsWith('authgate='))
    ?.split(';')[0]
    ?.slice('authgate='.length);

describe('cookie store: the idle clock moving on', () => {
  let stack: Stack;
  // The gateway's clock, moved on by the test instead of waiting for real time to pass.
  let ahead = 0;
  before(async () => {
    // idleTimeout 10 s: the session is re-sealed at most once a second.
    stack = await startStack({ configure: (tree) => (tree.session.idleTimeout = '10s'), now: () => Date.now() + ahead });
  });
  after(() => stack.close());

  it('gives every request with the old cookie the same new cookie, and the new cookie needs no rewrite', async () => {
    const browser = await stack.signIn('alice');
    const oldCookie = browser.jar.cookieHeader(stack.publicUrl) ?? '';
    const oldValue = browser.jar.all().find((cookie) => cookie.name === 'authgate')?.value;
    assert.ok(oldValue, 'signed in with a session cookie');
    const get = (cookie: string) => fetch(`${stack.publicUrl}/api/data`, { headers: { ...JSON_ACCEPT, cookie } });

    const fresh = await get(oldCookie);
    await fresh.body?.cancel();
    assert.equal(fresh.status, 200);
    assert.equal(sessionCookieSet(fresh), undefined, 'within a tenth of the idle timeout the cookie is not rewritten');

    ahead += 1_100;
    const answers = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await get(oldCookie);
      await response.body?.cancel();
      assert.equal(response.status, 200);
      assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
      answers.push(sessionCookieSet(response));
    }
    const [newValue] = answers;
    assert.ok(newValue, 'the idle clock moved on: a new cookie is sent');
    assert.notEqual(newValue, oldValue);
    assert.deepEqual(answers, [newValue, newValue, newValue], 'the same new cookie for every request with the old one');

    const withNew = await get(oldCookie.replace(`authgate=${oldValue}`, `authgate=${newValue}`));
    await withNew.body?.cancel();
    assert.equal(withNew.status, 200);
    assert.equal(sessionCookieSet(withNew), undefined, 'the new cookie is current');
  });
});
