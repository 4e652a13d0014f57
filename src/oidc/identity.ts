/**
 * Builds the gateway's view of a user from token claims (ID token, userinfo, or an API client's access
 * token): sub, email, preferred username, groups (from `oidc.groupsClaim`) and the claims policies name.
 */
import type { Identity } from '../session/types.js';

/** Reads an Identity out of claims; `claimNames` are the claims some upstream's `allow.claims` needs. */
export function identityFromClaims(claims: Record<string, unknown>, groupsClaim: string, claimNames: readonly string[]): Identity {
  const raw = claims[groupsClaim];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
  const kept: Record<string, unknown> = {};
  for (const name of claimNames) if (claims[name] !== undefined) kept[name] = claims[name];
  return {
    sub: String(claims.sub),
    email: typeof claims.email === 'string' ? claims.email : undefined,
    preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined,
    groups,
    claims: kept,
  };
}
