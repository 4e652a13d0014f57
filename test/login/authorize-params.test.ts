/**
 * `oidc.prompt` and `oidc.extraAuthorizeParams`, as the provider receives them: no prompt by default (a
 * login asking offline_access no longer forces the consent page at every sign-in), the configured prompt
 * when set, extra parameters beside the gateway's own, and a real sign-in still completes with them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

/** The authorization request a fresh browser's sign-in at `path` sends to the provider. */
async function authorizationRequest(stack: Stack): Promise<URLSearchParams> {
  const response = await fetch(`${stack.publicUrl}/oauth2/start?rd=/x`, { redirect: 'manual' });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location') ?? '');
  assert.equal(`${location.origin}${location.pathname}`.startsWith(stack.idp.issuer), true, location.href);
  return location.searchParams;
}

describe('the authorization request by default', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('asks offline_access without prompt=consent, and the sign-in completes', async () => {
    const params = await authorizationRequest(stack);
    assert.ok(params.get('scope')?.split(' ').includes('offline_access'));
    assert.equal(params.has('prompt'), false);
    await stack.signIn('alice', '/');
    const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code' && r.status === 200);
    assert.ok(grant, 'no successful code grant recorded');
    assert.equal(stack.idp.authorizationRequests.at(-1)?.has('prompt'), false);
  });
});

describe('oidc.prompt and oidc.extraAuthorizeParams', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.oidc.prompt = 'login';
        c.oidc.extraAuthorizeParams = { access_type: 'offline', login_hint: 'alice@example.com', max_age: 3600, ui_locales: 'de en' };
      },
    });
  });
  after(() => stack.close());

  it('sends the configured prompt and every extra parameter, encoded, beside the parameters the gateway sets', async () => {
    const params = await authorizationRequest(stack);
    assert.equal(params.get('prompt'), 'login');
    assert.equal(params.get('access_type'), 'offline');
    assert.equal(params.get('login_hint'), 'alice@example.com');
    assert.equal(params.get('max_age'), '3600');
    assert.equal(params.get('ui_locales'), 'de en');
    // The gateway's own parameters are there once each, untouched.
    for (const name of ['state', 'nonce', 'code_challenge', 'redirect_uri', 'client_id', 'scope']) assert.equal(params.getAll(name).length, 1, name);
    assert.equal(params.get('code_challenge_method'), 'S256');
  });

  it('completes a real sign-in with them; the provider saw prompt=login', async () => {
    const alice = await stack.signIn('alice', '/page');
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
    const seen = stack.idp.authorizationRequests.at(-1);
    assert.equal(seen?.get('prompt'), 'login');
    assert.equal(seen?.get('login_hint'), 'alice@example.com');
    assert.equal((await alice.fetch(`${stack.publicUrl}/page`, { headers: { accept: 'application/json' } })).status, 200);
  });
});
