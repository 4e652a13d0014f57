/**
 * session.keys: [new, old]: the first key seals, every key opens. A cookie sealed under the old key still
 * works and comes back re-sealed under the new one; a key dropped from the list signs its sessions out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OTHER_SESSION_KEY, startStack, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';

describe('session key rotation', () => {
  let stack: Stack;
  let sessionUnderOldKey: string;
  before(async () => {
    // The gateway seals with OTHER_SESSION_KEY (new) and still opens TEST_SESSION_KEY (old).
    stack = await startStack({ configure: (c) => (c.session.keys = [OTHER_SESSION_KEY, TEST_SESSION_KEY]) });
    const browser = await stack.signIn('alice');
    const underNew = browser.jar.get('authgate')?.value ?? '';
    const data = (await sealBoxesFor([OTHER_SESSION_KEY], stack)).session.open(underNew)?.data;
    assert.ok(data, 'logins are sealed under the first key');
    sessionUnderOldKey = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.seal(data);
  });
  after(() => stack.close());

  it('accepts a cookie sealed under the old key and re-seals it under the new key on that response', async () => {
    const response = await fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json', cookie: `authgate=${sessionUnderOldKey}` } });
    assert.equal(response.status, 200);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    const reissued = response.headers.getSetCookie().find((c) => c.startsWith('authgate='));
    assert.ok(reissued, 'the session cookie is written again');
    const value = reissued.slice('authgate='.length).split(';')[0] ?? '';
    assert.ok((await sealBoxesFor([OTHER_SESSION_KEY], stack)).session.open(value), 'opens under the new key');
    assert.equal((await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(value), null, 'no longer under the old key');
  });

  it('does not re-send a cookie already sealed under the first key', async () => {
    const browser = await stack.signIn('bob');
    const response = await browser.fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.getSetCookie().length, 0);
  });
});
