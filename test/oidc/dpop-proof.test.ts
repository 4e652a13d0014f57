/**
 * The hand-assembled DPoP proof (src/oidc/dpop-proof.ts) verifies with jose as a resource server verifies
 * it, for every key type the gateway accepts, and the key's thumbprint and derivation agree with jose's.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { deriveDpopKey, dpopKeyOf } from '../../src/oidc/dpop-key.js';
import { accessTokenHash, dpopProof } from '../../src/oidc/dpop-proof.js';

const KEYS = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
  Ed25519: generateKeyPairSync('ed25519').privateKey,
};

describe('DPoP proofs signed with node:crypto', () => {
  for (const [alg, privateKey] of Object.entries(KEYS)) {
    it(`verifies with jose for ${alg}`, async () => {
      const key = dpopKeyOf(privateKey);
      assert.equal(key.alg, alg);
      assert.equal(key.jkt, await calculateJwkThumbprint(privateKey.export({ format: 'jwk' }) as JWK));
      const token = 'an-access-token';
      const now = Math.floor(Date.now() / 1000);
      const proof = dpopProof(key, 'POST', 'https://api.example/a/b', accessTokenHash(token), now);
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
      assert.equal(protectedHeader.alg, alg);
      assert.equal(await calculateJwkThumbprint(protectedHeader.jwk as JWK), key.jkt);
      assert.deepEqual(Object.keys(protectedHeader.jwk ?? {}).sort(), alg === 'Ed25519' ? ['crv', 'kty', 'x'] : ['crv', 'kty', 'x', 'y']);
      assert.equal(payload.htm, 'POST');
      assert.equal(payload.htu, 'https://api.example/a/b');
      assert.equal(payload.iat, now);
      assert.equal(payload.ath, createHash('sha256').update(token).digest('base64url'));
      assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
      const again = await jwtVerify(dpopProof(key, 'POST', 'https://api.example/a/b', accessTokenHash(token), now), EmbeddedJWK);
      assert.notEqual(again.payload.jti, payload.jti, 'a fresh jti each time');
    });
  }

  it('derives one P-256 key per session key, issuer and client; the same every time', async () => {
    const sessionKey = Buffer.alloc(32, 7).toString('base64');
    const key = deriveDpopKey(sessionKey, 'https://idp.example', 'gateway');
    assert.equal(key.alg, 'ES256');
    assert.equal(deriveDpopKey(sessionKey, 'https://idp.example', 'gateway').jkt, key.jkt);
    assert.notEqual(deriveDpopKey(sessionKey, 'https://idp.example', 'other').jkt, key.jkt);
    assert.notEqual(deriveDpopKey(sessionKey, 'https://other.example', 'gateway').jkt, key.jkt);
    assert.notEqual(deriveDpopKey(Buffer.alloc(32, 8).toString('base64'), 'https://idp.example', 'gateway').jkt, key.jkt);
    const { protectedHeader } = await jwtVerify(dpopProof(key, 'GET', 'http://x/', accessTokenHash('t'), 1), EmbeddedJWK, { currentDate: new Date(1000) });
    assert.equal(await calculateJwkThumbprint(protectedHeader.jwk as JWK), key.jkt);
  });

  it('escapes what JSON needs in htm and htu', async () => {
    const key = dpopKeyOf(KEYS.ES256);
    const htu = 'http://x/a"b\\c';
    const { payload } = await jwtVerify(dpopProof(key, 'GET', htu, 'h', 1), EmbeddedJWK, { currentDate: new Date(1000) });
    assert.equal(payload.htu, htu);
  });
});
