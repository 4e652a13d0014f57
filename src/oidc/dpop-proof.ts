/**
 * A DPoP proof (RFC 9449 §4.2) for one request to a resource server, signed synchronously with node:crypto:
 * the JWS compact form assembled here, the signature made by node:crypto. WebCrypto (jose, openid-client's
 * handle) costs about four times the CPU per proof (BENCHMARKS.md), and a proxied request signs one each.
 */
import { createHash, randomUUID, sign } from 'node:crypto';
import type { DpopKey } from './dpop-key.js';

/** The `ath` claim of a token: BASE64URL(SHA-256(access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/**
 * A proof for `htm` `htu` (the request's method and its URL without query or fragment) presenting the
 * access token whose hash is `ath`; `nowSeconds` is the `iat`.
 */
export function dpopProof(key: DpopKey, htm: string, htu: string, ath: string, nowSeconds: number): string {
  // The values are a method token, a URL and base64url text: JSON.stringify escapes whatever needs it.
  const payload = `{"jti":"${randomUUID()}","htm":${JSON.stringify(htm)},"htu":${JSON.stringify(htu)},"iat":${nowSeconds},"ath":"${ath}"}`;
  const input = `${key.header}.${Buffer.from(payload).toString('base64url')}`;
  // ES*: the JWS signature is r ‖ s (IEEE P1363), not DER; Ed25519 takes no digest name.
  const signature = key.alg === 'Ed25519' ? sign(null, Buffer.from(input), key.privateKey) : sign(HASH[key.alg], Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const HASH = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' } as const;
