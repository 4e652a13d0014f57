/**
 * Opaque bearer tokens through RFC 7662 introspection (`api.introspectOpaqueTokens`): an opaque access
 * token the provider issued to this client is accepted with its subject as identity; unknown tokens are
 * 401; with introspection off, opaque tokens are not even looked at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_SESSION_KEY, type Stack } from '../helpers/gateway.js';
import { sealBoxesFor } from '../helpers/seal.js';

for (const introspect of [true, false]) {
  describe(`opaque bearer tokens (introspectOpaqueTokens: ${introspect})`, () => {
    let stack: Stack;
    let opaque: string;
    before(async () => {
      stack = await startStack({
        configure: (c) => {
          c.api = { acceptBearerTokens: true, introspectOpaqueTokens: introspect };
        },
      });
      const alice = await stack.signIn('alice');
      const session = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(alice.jar.get('authgate')?.value ?? '')?.data as {
        tokens: { accessToken: string };
      };
      opaque = session.tokens.accessToken;
      assert.ok(!opaque.includes('.'), 'the provider issues opaque access tokens to this client');
    });
    after(() => stack.close());

    const call = (token: string) => fetch(`${stack.publicUrl}/api/items`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });

    it(introspect ? 'accepts an active opaque token issued to this client' : 'does not accept an opaque token', async () => {
      const before = stack.upstream.requests.length;
      const response = await call(opaque);
      if (introspect) {
        assert.equal(response.status, 200);
        assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
        assert.equal(stack.upstream.last()?.headers.authorization, `Bearer ${opaque}`);
      } else {
        assert.equal(response.status, 401);
        assert.equal(stack.upstream.requests.length, before);
      }
    });

    it('refuses an opaque token the provider does not know', async () => {
      const before = stack.upstream.requests.length;
      const response = await call('not-a-token-the-provider-issued-0123456789');
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: 'invalid_token' });
      assert.equal(stack.upstream.requests.length, before);
    });
  });
}
