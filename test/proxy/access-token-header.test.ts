/**
 * `upstreams[].accessToken.header`: an app written for oauth2-proxy's --pass-access-token reads the raw
 * token from X-Forwarded-Access-Token. The token goes there (not in Authorization, which then passes
 * through), and no client copy of that header, in any spelling, reaches the app, signed in or not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';
import { rawGet } from '../helpers/raw-http.js';

const JSON_ACCEPT = 'application/json';

describe('upstreams[].accessToken.header', () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        const url = c.upstreams[0]?.url;
        c.upstreams.push({ name: 'legacy', path: '/legacy', url, accessToken: { header: 'X-Forwarded-Access-Token' } });
        c.upstreams.push({ name: 'custom', path: '/custom', url, auth: 'optional', accessToken: { header: 'X-App-Token' } });
        c.upstreams.push({ name: 'none', path: '/none', url, forwardAccessToken: false, accessToken: { header: 'X-App-Token' } });
      },
    });
    alice = await stack.signIn('alice', '/');
  });
  after(() => stack.close());

  /** The token the gateway sends on the default route (Authorization: Bearer …). */
  async function sessionToken(): Promise<string> {
    await alice.fetch(`${stack.publicUrl}/x`, { headers: { accept: JSON_ACCEPT } });
    const authorization = stack.upstream.last()?.headers.authorization;
    assert.ok(typeof authorization === 'string' && authorization.startsWith('Bearer '));
    return authorization.slice('Bearer '.length);
  }

  it('sends the raw token in the configured header, and lets the Authorization of the client pass through', async () => {
    const token = await sessionToken();
    const response = await alice.fetch(`${stack.publicUrl}/legacy/page`, {
      headers: { accept: JSON_ACCEPT, authorization: 'Basic YXBwOnVzZXI=', 'x-forwarded-access-token': 'forged' },
    });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last()?.headers;
    assert.equal(seen?.['x-forwarded-access-token'], token);
    assert.equal(seen?.authorization, 'Basic YXBwOnVzZXI=');
    assert.equal(seen?.['x-forwarded-user'], 'alice');
  });

  it('removes every client copy of a header of its own, signed out on an optional route too', async () => {
    const spellings = ['X-App-Token', 'x-app-token', 'X_App_Token', 'x_APP_token'];
    for (const name of spellings) {
      const response = await rawGet(stack.publicUrl, '/custom/a', { accept: JSON_ACCEPT, [name]: 'forged' });
      assert.equal(response.status, 200, name);
      const seen = stack.upstream.last()?.headers ?? {};
      assert.deepEqual(Object.keys(seen).filter((h) => h.replaceAll('_', '-').toLowerCase() === 'x-app-token'), [], name);
    }
    const token = await sessionToken();
    await alice.fetch(`${stack.publicUrl}/custom/b`, { headers: { accept: JSON_ACCEPT, x_app_token: 'forged' } });
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-app-token'], token);
    assert.equal(seen.x_app_token, undefined);
  });

  it('sends no token at all with forwardAccessToken: false, and still strips client copies', async () => {
    await alice.fetch(`${stack.publicUrl}/none/c`, { headers: { accept: JSON_ACCEPT, 'x-app-token': 'forged' } });
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-app-token'], undefined);
    assert.equal(seen.authorization, undefined);
    assert.equal(seen['x-forwarded-user'], 'alice');
  });
});
