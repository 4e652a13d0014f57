/**
 * The end of a login: the authorization response validated (state, iss), the code exchanged with the
 * client's credentials and the PKCE verifier, the ID token checked by openid-client and again by the gateway
 * (signature, iss, aud, exp, nonce: token-answer.ts), the claims completed from userinfo when needed.
 */
import * as client from 'openid-client';
import { ErrorCode } from '../errors.js';
import type { Identity, TokenSet } from '../identity.js';
import type { CallbackChecks } from './authorize.js';
import type { Discovered } from './discovery.js';
import { isUnreachable, ProviderError, UNVERIFIABLE, type ErrorFace, type FailureDetails, type ProviderCall } from './provider-call.js';
import { MissingUserClaim } from './identity.js';
import { checkIdToken, tokenSetFrom } from './token-answer.js';

/** The result of a successful login at the provider. */
export interface LoginResult {
  identity: Identity;
  tokens: TokenSet;
  providerSid: string | undefined;
  /** The ID token's `acr` and `auth_time` (seconds), when it has them: what step-up rules judge. */
  acr?: string;
  authTime?: number;
}

/** What completing a login needs besides the provider: the callback URL and how claims become an identity. */
export interface LoginSteps {
  call: ProviderCall;
  redirectUri: string;
  /** The claims completed from userinfo when the ID token lacks some (userinfo.ts). */
  completeClaims(provider: Discovered, accessToken: string, claims: Record<string, unknown>): Promise<Record<string, unknown>>;
  identityFrom(claims: Record<string, unknown>): Identity;
}

/** Completes a login from the callback's query; rejects with a ProviderError that is the page to show. */
export async function completeLogin(provider: Discovered, steps: LoginSteps, query: URLSearchParams, checks: CallbackChecks): Promise<LoginResult> {
  const currentUrl = new URL(steps.redirectUri);
  currentUrl.search = query.toString();
  const response = await steps.call(
    'code_grant',
    () =>
      client.authorizationCodeGrant(provider.configuration, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      }),
    loginFace,
  );
  if (!response.claims() || response.id_token === undefined) {
    throw new ProviderError({ reason: 'invalid_response', cause: undefined }, { ...UNVERIFIABLE, message: 'The provider did not return an ID token.' });
  }
  const claims = await checkIdToken(response.id_token, provider.idTokenPolicy, checks.nonce);
  const tokens = tokenSetFrom(response);
  const merged = await steps.completeClaims(provider, response.access_token, claims);
  let identity: Identity;
  try {
    identity = steps.identityFrom(merged);
  } catch (err) {
    if (!(err instanceof MissingUserClaim)) throw err;
    throw new ProviderError({ reason: 'invalid_response', cause: err }, { ...UNVERIFIABLE, message: 'The provider did not say who you are in the way this gateway is set up to read.' });
  }
  return {
    identity,
    tokens,
    providerSid: typeof claims.sid === 'string' ? claims.sid : undefined,
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? { authTime: claims.auth_time } : {}),
  };
}

/**
 * What the user sees of a failed code grant: the provider refusing (an error response, invalid_grant, a
 * reused code) or an answer that fails validation is a 400; an unreachable or failing provider a 503.
 */
function loginFace(failure: FailureDetails): ErrorFace {
  const { oauthError, providerStatus } = failure;
  if (oauthError !== undefined) {
    // Without a status the error came in the authorization response itself, not from the token endpoint.
    if (providerStatus === undefined) return { code: ErrorCode.providerError, status: 400, message: `The provider refused the sign-in: ${oauthError}` };
    if (providerStatus >= 500) return { code: ErrorCode.providerUnavailable, status: 503, message: 'The sign-in service failed. Please try again.' };
    return { code: ErrorCode.loginFailed, status: 400, message: `The provider refused the sign-in: ${oauthError}` };
  }
  // Not reached, timed out, or a 5xx answer that is no OAuth error (a proxy's 503 page, an empty 502): an
  // outage, as for a refresh, so the user is told to retry rather than that the sign-in was forged.
  if (failure.reason === 'unavailable' || isUnreachable(failure.cause)) {
    return { code: ErrorCode.providerUnavailable, status: 503, message: 'The sign-in service is not reachable right now. Please try again.' };
  }
  return UNVERIFIABLE;
}
