/**
 * The test provider's signing keys and a signer that signs exactly like the provider signs its ID and
 * logout tokens, or, on request, with another key, another algorithm or none, so tests can forge tokens.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import type { JWK } from 'oidc-provider';
import type { SignJwtOptions } from './idp-types.js';

/** An RSA signing key both as the provider's JWK (with kid) and as a KeyObject for signing in tests. */
export type SigningKey = { jwk: JWK & { kid: string }; privateKey: KeyObject };

/** An RSA signing key both as the provider's JWK (with kid) and as a KeyObject for signing in tests. */
function signingKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { jwk: { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }, privateKey };
}

/** The claims of a compact JWT, unverified (the provider's own token, to be changed and signed again). */
export function decodePayload(jwt: string): Record<string, unknown> {
  const [, payload = ''] = jwt.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The provider's key, another key made on first use, and what signs with them. */
export interface IdpSigner {
  providerKey: SigningKey;
  /** The public JWK of the provider's key or of the other key. */
  publicJwk: (key?: 'provider' | 'other') => JWK & { kid: string };
  /** Signs `payload`; see SignJwtOptions. */
  signJwt: (payload: Record<string, unknown>, sign?: SignJwtOptions) => Promise<string>;
}

/** A new provider key and a signer; `defaultSecret` keys HS* signatures when the caller names none. */
export function createSigner(defaultSecret: string | undefined): IdpSigner {
  const providerKey = signingKey();
  // Made on first use: generating an RSA key takes a moment most tests do not need to spend.
  let otherKey: SigningKey | undefined;

  function publicJwk(key: 'provider' | 'other' = 'provider'): JWK & { kid: string } {
    const { jwk, privateKey } = key === 'other' ? (otherKey ??= signingKey()) : providerKey;
    return { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid: jwk.kid, alg: 'RS256', use: 'sig' };
  }

  async function signJwt(payload: Record<string, unknown>, sign: SignJwtOptions = {}): Promise<string> {
    const alg = sign.alg ?? 'RS256';
    const kid = sign.kid === undefined ? providerKey.jwk.kid : sign.kid;
    const header: JWTHeaderParameters = { alg };
    if (kid !== null) header.kid = kid;
    if (sign.typ !== undefined) header.typ = sign.typ;
    if (alg === 'none') {
      // jose's SignJWT refuses to produce unsecured JWTs, so build one by hand.
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${encode(header)}.${encode(payload)}.`;
    }
    let key: KeyObject | Uint8Array;
    if (/^HS\d+$/.test(alg)) {
      const secret = sign.secret ?? defaultSecret;
      if (secret === undefined) throw new TypeError('signJwt: an HS algorithm needs a secret');
      key = new TextEncoder().encode(secret);
    } else if (/^(RS|PS)\d+$/.test(alg)) {
      key = sign.key === 'other' ? (otherKey ??= signingKey()).privateKey : providerKey.privateKey;
    } else {
      throw new TypeError(`signJwt: unsupported alg ${alg} (use RS*, PS*, HS* or none)`);
    }
    return new SignJWT(payload).setProtectedHeader(header).sign(key);
  }

  return { providerKey, publicJwk, signJwt };
}
