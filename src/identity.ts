/**
 * Who a user is and the tokens the provider gave: the vocabulary the provider client, the session stores,
 * policy and the identity headers share. Imports nothing, so every layer can use it without a circle.
 */

/** Who the user is, as the provider said at login (ID token, then userinfo). */
export interface Identity {
  sub: string;
  /** The `oidc.userClaim` value when that claim is not `sub`: who the user is to upstreams and in logs. */
  user?: string;
  email?: string;
  preferredUsername?: string;
  groups: string[];
  /** Only the claims some upstream's `allow.claims` names, so the session stays small. */
  claims: Record<string, unknown>;
}

/** The provider's tokens; never logged, never sent to a browser. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** When the access token expires (ms since the epoch); absent when the provider did not say. */
  expiresAt?: number;
  /** When these tokens were obtained (ms since the epoch): a refresh is due no earlier than half their life. */
  obtainedAt: number;
  /**
   * Present only for a DPoP-bound access token (RFC 9449): the thumbprint of the gateway key it is bound to,
   * so upstreams get `Authorization: DPoP` and a proof, and a token bound to a key the gateway no longer
   * holds is refreshed (re-bound).
   */
  jkt?: string;
}

/** The name an identity goes by upstream (X-Forwarded-User, X-Auth-Request-User) and in logs. */
export function userOf(identity: Identity): string {
  return identity.user ?? identity.sub;
}
