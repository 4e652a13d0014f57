/**
 * The gateway's own check of every ID token, at login and at refresh. openid-client checks the claims of
 * an ID token from the token endpoint but not its signature (it trusts the TLS channel), so a token signed
 * with any key would pass it; this check does not rely on that. With jose's jwtVerify:
 * - the signature, with a key from the provider's JWKS (provider-keys.ts);
 * - `alg` from the provider's metadata (`id_token_signing_alg_values_supported`, RS256 when it names none),
 *   never `none` and never a symmetric HS* algorithm, even when the provider offers one: an HMAC keyed with
 *   the client secret proves nothing another holder of the secret could not forge;
 * - `iss` exactly the provider's issuer, `aud` containing the client id, `azp` (when present) the client id,
 *   and `azp` required when there are several audiences;
 * - `exp` (leeway `oidc.clockSkew`), `iat` present, at most `clockSkew` in the future and at most
 *   `oidc.maxIdTokenAge` old; `sub` a non-empty string;
 * - at login, `nonce` equal to the login transaction's.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { ProviderKeys } from './provider-keys.js';

/** An ID token that fails a check; the message names the reason (never the token) and is for logs only. */
export class InvalidIdToken extends Error {
  override readonly name = 'InvalidIdToken';
}

/** The algorithms ID tokens may be signed with, from the provider's metadata (see the file comment). */
export function idTokenAlgorithms(advertised: readonly string[] | undefined): string[] {
  if (!advertised || advertised.length === 0) return ['RS256'];
  return advertised.filter((alg) => alg !== 'none' && !/^HS/i.test(alg));
}

/** What one provider's ID tokens are checked against. */
export interface IdTokenPolicy {
  issuer: string;
  clientId: string;
  algorithms: readonly string[];
  keys: ProviderKeys;
  clockSkewMs: number;
  maxAgeMs: number;
}

/**
 * Verifies an ID token; resolves to its claims. `nonce` is the login transaction's (left out at refresh,
 * where OIDC Core 12.2 does not require one). Rejects with InvalidIdToken, or with JwksUnavailable when the
 * provider's keys cannot be fetched.
 */
export async function verifyIdToken(token: string, policy: IdTokenPolicy, nonce?: string): Promise<JWTPayload> {
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, policy.keys.getKey, {
      algorithms: [...policy.algorithms],
      issuer: policy.issuer,
      audience: policy.clientId,
      clockTolerance: Math.floor(policy.clockSkewMs / 1000),
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (err) {
    if (err instanceof errors.JOSEError) throw new InvalidIdToken(`ID token refused: ${reasonOf(err)}`);
    throw err;
  }
  // Checked here rather than with jose's maxTokenAge, which adds the clock skew to the maximum age too.
  const now = Date.now();
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) throw new InvalidIdToken('ID token refused: "iat" is not a number');
  if (claims.iat * 1000 > now + policy.clockSkewMs) throw new InvalidIdToken('ID token refused: "iat" is further in the future than oidc.clockSkew');
  if (now - claims.iat * 1000 > policy.maxAgeMs) throw new InvalidIdToken('ID token refused: "iat" is older than oidc.maxIdTokenAge');
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new InvalidIdToken('ID token refused: "sub" is not a non-empty string');
  if (claims.azp !== undefined && claims.azp !== policy.clientId) throw new InvalidIdToken('ID token refused: "azp" names another client');
  if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) {
    throw new InvalidIdToken('ID token refused: several audiences and no "azp"');
  }
  if (nonce !== undefined && claims.nonce !== nonce) throw new InvalidIdToken('ID token refused: "nonce" does not match the login');
  return claims;
}

/** A short reason for the log: jose's messages name the failed check and never carry the token. */
function reasonOf(err: errors.JOSEError): string {
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key in the provider JWKS matches its kid and alg';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'it names no kid and the provider JWKS has several keys';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify with the provider key';
  return `${err.code}: ${err.message}`;
}
