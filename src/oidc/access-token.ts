/**
 * Verification of JWT access tokens from API clients (`Authorization: Bearer`, `api.acceptBearerTokens`):
 * signature with a key from the provider's JWKS, an asymmetric algorithm from an allow-list (never `none`,
 * never HMAC, so a token "signed" with the public key as an HMAC secret fails), `iss`, `exp`/`nbf` with a
 * small leeway, and `aud` from `api.audiences`. ID tokens are refused even when their audience matches.
 *
 * Keys are kept in an LRU cache by `kid`; each fetch replaces the whole set (a key the provider withdraws
 * stops verifying), and the set is fetched again when it is older than KEYS_MAX_AGE_MS. A token naming an
 * unknown `kid` refetches at most once per cooldown (a flood of made-up kids costs one fetch per cooldown, not
 * one per request). Verified tokens are remembered until they expire (and forgotten when the keys change),
 * so a busy API client costs one signature check per token.
 */
import { createHash } from 'node:crypto';
import { errors, importJWK, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';

/** Asymmetric JWS algorithms accepted for access tokens. */
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Leeway for exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Verified tokens are remembered at most this long (and never past their exp). */
const VERIFIED_TTL_MS = 5 * 60_000;
/** The JWKS is fetched again when older than this, so withdrawn keys are noticed without unknown kids. */
const KEYS_MAX_AGE_MS = 10 * 60_000;

/** A token that must be answered with 401 invalid_token; `reason` is for logs only. */
export class InvalidAccessToken extends Error {
  override readonly name = 'InvalidAccessToken';
}

/** The provider's JWKS could not be fetched: an outage (503), not the client's fault. */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
}

/** Verifies bearer tokens; resolves to the token's claims or rejects with InvalidAccessToken. */
export type AccessTokenVerifier = (token: string) => Promise<JWTPayload>;

/** Fetches a JWKS document (injected so the caller decides timeouts). */
export type JwksFetcher = (url: string) => Promise<{ keys: JWK[] }>;

/** Creates a verifier for one provider. */
export function createAccessTokenVerifier(options: {
  issuer: string;
  jwksUri: string;
  audiences: readonly string[];
  /** Minimum time between two JWKS fetches caused by unknown kids. */
  cooldownMs: number;
  fetchJwks: JwksFetcher;
}): AccessTokenVerifier {
  const keys = new LRUCache<string, Awaited<ReturnType<typeof importJWK>>>({ max: 100 });
  const verified = new LRUCache<string, JWTPayload>({ max: 10_000 });
  let lastFetch = -Infinity;
  let fetching: Promise<void> | undefined;
  // Keys are imported for their JWK's own alg, so a key published for RS256 cannot verify a PS256 token.
  const algorithms = ACCESS_TOKEN_ALGORITHMS;

  async function refetch(): Promise<void> {
    lastFetch = Date.now();
    let jwks: JWK[];
    try {
      ({ keys: jwks } = await options.fetchJwks(options.jwksUri));
    } catch (err) {
      throw new JwksUnavailable('the provider JWKS could not be fetched', { cause: err });
    }
    const fresh = new Map<string, Awaited<ReturnType<typeof importJWK>>>();
    for (const jwk of jwks) {
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      if (!jwk.kid || typeof jwk.kty !== 'string' || jwk.kty === 'oct') continue; // no symmetric keys, ever
      try {
        fresh.set(jwk.kid, await importJWK(jwk, jwk.alg ?? defaultAlgorithm(jwk)));
      } catch {
        // a key this runtime cannot import cannot have signed a token we accept
      }
    }
    const changed = fresh.size !== keys.size || [...keys.keys()].some((kid) => !fresh.has(kid));
    keys.clear();
    for (const [kid, key] of fresh) keys.set(kid, key);
    if (changed) verified.clear(); // a token verified with a withdrawn key is not valid any more
  }

  /** Fetches the JWKS once at a time; waits for a fetch already running. */
  function refetchOnce(): Promise<void> {
    return (fetching ??= refetch().finally(() => (fetching = undefined)));
  }

  /** The key for a kid: cached, or after at most one refetch per cooldown. */
  const getKey: JWTVerifyGetKey = async (header) => {
    const sinceFetch = Date.now() - lastFetch;
    if (sinceFetch >= KEYS_MAX_AGE_MS) await refetchOnce();
    else if (fetching) await fetching;
    const kid = header.kid;
    if (kid === undefined) {
      // A token without kid is accepted only when the JWKS has exactly one key.
      const only = keys.size === 1 ? [...keys.values()][0] : undefined;
      if (!only) throw new InvalidAccessToken('token has no kid and the JWKS has several keys');
      return only;
    }
    const cached = keys.get(kid);
    if (cached) return cached;
    if (Date.now() - lastFetch >= options.cooldownMs) await refetchOnce();
    const key = keys.get(kid);
    if (!key) throw new InvalidAccessToken('unknown kid');
    return key;
  };

  return async (token) => {
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = verified.get(digest);
    if (known) return known;
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const result = await jwtVerify(token, getKey, {
        issuer: options.issuer,
        audience: [...options.audiences],
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      payload = result.payload;
      typ = result.protectedHeader.typ?.toLowerCase();
    } catch (err) {
      if (err instanceof InvalidAccessToken || err instanceof JwksUnavailable) throw err;
      // Anything else is the token's fault: a bad signature, claims, or a key used for another algorithm
      // (WebCrypto throws a TypeError for a PS256 token against a key published for RS256).
      throw new InvalidAccessToken(err instanceof errors.JOSEError ? err.code : 'unverifiable token', { cause: err });
    }
    if (looksLikeIdToken(payload, typ)) throw new InvalidAccessToken('an ID token is not an access token');
    const ttl = Math.min(VERIFIED_TTL_MS, (payload.exp ?? 0) * 1000 - Date.now());
    if (ttl > 0) verified.set(digest, payload, { ttl });
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

function defaultAlgorithm(jwk: JWK): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
}
