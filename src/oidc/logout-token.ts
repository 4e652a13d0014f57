/**
 * Validation of OpenID Connect Back-Channel Logout 1.0 logout tokens (§2.6): a JWT signed with a key from
 * the provider's JWKS (asymmetric algorithms only), this provider as `iss`, this client in `aud`, a recent
 * `iat`, an `exp`, the back-channel logout event, `sid` or `sub`, no `nonce`, and a `jti` never seen before within
 * the token's lifetime.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from 'jose';
import type { CustomFetch } from 'openid-client';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens older than this are refused (and their jti remembered this long). */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;

/** What a valid logout token says to end. */
export interface LogoutRequest {
  sid?: string;
  sub?: string;
  jti: string;
}

/** A logout token that must be answered with 400. */
export class InvalidLogoutToken extends Error {
  override readonly name = 'InvalidLogoutToken';
}

/** Verifies logout tokens for one provider and client. */
export type LogoutTokenVerifier = (token: string) => Promise<LogoutRequest>;

/** Creates a verifier from the provider's metadata; the JWKS is fetched lazily and cached by jose. */
export function createLogoutTokenVerifier(options: {
  issuer: string;
  clientId: string;
  jwksUri: string;
  signingAlgorithms: readonly string[] | undefined;
  /** Returns false when the jti was already used (replay). */
  claimJti: (jti: string, ttlMs: number) => Promise<boolean>;
  /** The provider's one fetch (OidcProvider.fetch, provider-fetch.ts); the global fetch without it. */
  fetch?: CustomFetch;
}): LogoutTokenVerifier {
  const providerFetch = options.fetch;
  const jwks = createRemoteJWKSet(new URL(options.jwksUri), {
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
    ...(providerFetch
      ? {
          [customFetch]: (url: string, init: { headers: Headers; signal: AbortSignal }) =>
            providerFetch(url, { method: 'GET', headers: Object.fromEntries(init.headers), body: undefined, redirect: 'manual', signal: init.signal }),
        }
      : {}),
  });
  const algorithms = (options.signingAlgorithms ?? ['RS256']).filter((alg) => ASYMMETRIC.test(alg));

  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.clientId,
        algorithms: algorithms.length > 0 ? algorithms : ['RS256'],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        clockTolerance: 30,
        requiredClaims: ['iat', 'exp', 'jti'], // exp: required since errata set 1 (§2.4)
      }));
    } catch (err) {
      if (err instanceof errors.JOSEError) throw new InvalidLogoutToken(`logout token rejected: ${err.code}`, { cause: err });
      throw err; // the JWKS could not be fetched: not the sender's fault
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events?.[LOGOUT_EVENT];
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InvalidLogoutToken('logout token has no back-channel logout event');
    if (payload.nonce !== undefined) throw new InvalidLogoutToken('logout token must not carry a nonce');
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (sid === undefined && sub === undefined) throw new InvalidLogoutToken('logout token names neither sid nor sub');
    const jti = payload.jti as string;
    if (!(await options.claimJti(`logout-jti:${jti}`, LOGOUT_TOKEN_MAX_AGE_SECONDS * 1000 * 2))) {
      throw new InvalidLogoutToken('logout token replayed (jti seen before)');
    }
    return { sid, sub, jti };
  };
}
