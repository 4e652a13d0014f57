/**
 * The S256 code challenge the gateway sends is RFC 7636's (its Appendix B example), and the provider accepts
 * the verifier for it (every login test exchanges a code with it; this pins the transform itself).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as client from 'openid-client';
import { pkceChallenge } from '../../src/oidc/provider.js';

describe('PKCE S256 challenge', () => {
  it("matches RFC 7636 Appendix B's example", () => {
    assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it("agrees with openid-client's own for fresh verifiers", async () => {
    for (let i = 0; i < 20; i++) {
      const verifier = client.randomPKCECodeVerifier();
      assert.equal(pkceChallenge(verifier), await client.calculatePKCECodeChallenge(verifier));
    }
  });
});
