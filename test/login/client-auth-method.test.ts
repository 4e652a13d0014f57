/**
 * The client secret reaches the token endpoint the configured way: HTTP Basic by default (asserted in the
 * login-flow suite), in the form body with clientAuthMethod: client_secret_post.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';

describe('clientAuthMethod: client_secret_post', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      clientAuthMethod: 'client_secret_post',
      configure: (c) => (c.oidc.clientAuthMethod = 'client_secret_post'),
    });
  });
  after(() => stack.close());

  it('sends the secret in the form body and signs the user in', async () => {
    await stack.signIn('alice');
    const grant = stack.idp.tokenRequests.find((r) => r.grantType === 'authorization_code');
    assert.equal(grant?.authMethod, 'client_secret_post');
    assert.equal(grant?.status, 200);
  });
});
