/**
 * Verification of JWT access tokens from API clients (`Authorization: Bearer`, `api.acceptBearerTokens`):
 * signature with a key from the provider's JWKS, an asymmetric algorithm from an allow-list (never `none`,
 * never HMAC, so a token "signed" with the public key as an HMAC secret fails), `iss`, `exp`/`nbf` with a
 * small leeway, and `aud` from `api.audiences`. ID tokens are refused even when their audience matches.
 *
 * The keys are the provider's one key set (provider-keys.ts), the same ID tokens are checked with: fetched
 * through the provider's own fetch with the metadata and again every `oidc.metadataRefresh` (a key the
 * provider withdraws stops verifying then), and at once for a token naming an unknown kid, at most once a
 * minute (a flood of made-up kids costs one fetch a minute, not one per request). A token without kid is
 * accepted only when exactly one key of the set fits its algorithm. Verified tokens are remembered until
 * they expire (and forgotten when the key set changes), so a busy API client costs one signature check per
 * token.
 */
import { createHash } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { JwksUnavailable, type ProviderKeys } from './provider-keys.js';

/** Asymmetric JWS algorithms accepted for access tokens. */
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Leeway for exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Verified tokens are remembered at most this long (and never past their exp). */
const VERIFIED_TTL_MS = 5 * 60_000;

/** A token that must be answered with 401 invalid_token; `reason` is for logs only. */
export class InvalidAccessToken extends Error {
  override readonly name = 'InvalidAccessToken';
}

/**
 * Verifies bearer tokens; resolves to the token's claims, rejects with InvalidAccessToken (the token's
 * fault) or JwksUnavailable (the provider's keys could not be fetched: an outage).
 */
export type AccessTokenVerifier = (token: string) => Promise<JWTPayload>;

/** Creates a verifier for one provider, checking signatures with its key set. */
export function createAccessTokenVerifier(options: { issuer: string; audiences: readonly string[]; keys: ProviderKeys }): AccessTokenVerifier {
  const { keys } = options;
  const verified = new LRUCache<string, JWTPayload>({ max: 10_000 });
  // The key set the cached verdicts were reached with; a new one empties the cache.
  let generation = keys.generation;
  // jose's local key set picks a key whose JWK `alg` (when published) is the token's, so a key published for
  // RS256 cannot verify a PS256 token.
  const algorithms = ACCESS_TOKEN_ALGORITHMS;
  const audience = [...options.audiences];

  return async (token) => {
    if (keys.generation !== generation) {
      verified.clear(); // a token verified with a withdrawn key is not valid any more
      generation = keys.generation;
    }
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = verified.get(digest);
    if (known) return known;
    const checkedWith = keys.generation;
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const result = await jwtVerify(token, keys.getKey, {
        issuer: options.issuer,
        audience,
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      payload = result.payload;
      typ = result.protectedHeader.typ?.toLowerCase();
    } catch (err) {
      if (err instanceof JwksUnavailable) throw err;
      // Anything else is the token's fault: a bad signature, claims, an unknown kid, or a key used for another
      // algorithm (WebCrypto throws a TypeError for a PS256 token against a key imported for RS256).
      throw new InvalidAccessToken(err instanceof errors.JOSEError ? err.code : 'unverifiable token', { cause: err });
    }
    if (looksLikeIdToken(payload, typ)) throw new InvalidAccessToken('an ID token is not an access token');
    const ttl = Math.min(VERIFIED_TTL_MS, (payload.exp ?? 0) * 1000 - Date.now());
    // A verdict reached while the key set changed is not kept: it may rest on a key just withdrawn.
    if (ttl > 0 && keys.generation === checkedWith) verified.set(digest, payload, { ttl });
    return payload;
  };
}

/**
 * RFC 9068 access tokens say `typ: at+jwt`. A token that does not must show what only access tokens carry
 * (a scope, a client id, roles, Keycloak's `typ: Bearer`, Cognito's `token_use: access`: Keycloak, Azure AD,
 * Okta and Auth0 access tokens all do) and nothing only ID tokens carry (nonce, at_hash, `typ: ID`,
 * `token_use: id`). An ID token issued to this client otherwise passes every other check.
 */
function looksLikeIdToken(payload: JWTPayload, typ: string | undefined): boolean {
  if (typ === 'at+jwt' || typ === 'application/at+jwt') return false;
  if (payload.nonce !== undefined || payload.at_hash !== undefined || payload.typ === 'ID' || payload.token_use === 'id') return true;
  const accessMarker =
    payload.scope !== undefined ||
    payload.scp !== undefined ||
    payload.client_id !== undefined ||
    payload.cid !== undefined ||
    payload.roles !== undefined ||
    payload.typ === 'Bearer' ||
    payload.token_use === 'access';
  return !accessMarker;
}
