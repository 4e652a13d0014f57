/**
 * What the gateway keeps of a token endpoint answer, shared by the code grant and the refresh grant: the ID
 * token checked by the gateway itself (id-token.ts), and the TokenSet the session stores.
 */
import type * as client from 'openid-client';
import type { TokenSet } from '../identity.js';
import { InvalidIdToken, verifyIdToken, type IdTokenPolicy } from './id-token.js';
import { ProviderError, UNAVAILABLE, UNVERIFIABLE } from './provider-call.js';
import { JwksUnavailable } from './provider-keys.js';

/**
 * ID tokens longer than this are not kept in the session. The session keeps the ID token only as the
 * id_token_hint of RP-initiated logout; a user with thousands of groups (which `oidc.groupsFilter` trims
 * from the identity, not from the token) would otherwise carry it in every Cookie header, and a hint this
 * large would not fit in the logout URL anyway. Without a hint the provider asks the user to confirm.
 */
export const MAX_KEPT_ID_TOKEN_LENGTH = 8 * 1024;

/**
 * Verifies an ID token against the provider's policy; resolves to its claims. A token that fails is an
 * invalid_response (a 400 at login), keys that cannot be fetched an outage (503); the token is never attached.
 */
export async function checkIdToken(token: string, policy: IdTokenPolicy | undefined, nonce?: string): Promise<Record<string, unknown>> {
  try {
    if (!policy) throw new JwksUnavailable('the provider keys are not loaded');
    return await verifyIdToken(token, policy, nonce);
  } catch (err) {
    if (err instanceof JwksUnavailable) throw new ProviderError({ reason: 'unavailable', cause: err }, UNAVAILABLE);
    if (err instanceof InvalidIdToken) throw new ProviderError({ reason: 'invalid_response', cause: err }, UNVERIFIABLE);
    throw err;
  }
}

/**
 * The tokens to keep from a token endpoint answer; `previous` supplies what a refresh answer leaves out.
 * `dpopJkt`: the thumbprint of the DPoP key the request was proved with, kept when the token came bound.
 */
export function tokenSetFrom(response: client.TokenEndpointResponse, previous?: TokenSet, dpopJkt?: string): TokenSet {
  return {
    // Only a bound token carries the field: a cookie holds no more than before with DPoP off.
    ...boundTo(response, dpopJkt),
    accessToken: response.access_token,
    // A provider that does not rotate refresh tokens keeps the old one valid.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    idToken: response.id_token === undefined ? previous?.idToken : storableIdToken(response.id_token),
    expiresAt: response.expires_in === undefined ? undefined : Date.now() + response.expires_in * 1000,
    obtainedAt: Date.now(),
  };
}

function storableIdToken(token: string): string | undefined {
  return token.length <= MAX_KEPT_ID_TOKEN_LENGTH ? token : undefined;
}

/** `{ jkt }` when the answer's token came DPoP-bound (token_type dpop) to the key `dpopJkt` names; else nothing. */
export function boundTo(response: client.TokenEndpointResponse, dpopJkt: string | undefined): { jkt?: string } {
  return response.token_type === 'dpop' && dpopJkt !== undefined ? { jkt: dpopJkt } : {};
}
