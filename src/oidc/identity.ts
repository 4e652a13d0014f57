/**
 * Builds the gateway's view of a user from token claims (ID token, userinfo, or an API client's access
 * token): sub, email, preferred username, groups (from `oidc.groupsClaim`, kept only when they match
 * `oidc.groupsFilter`) and the claims policies name. The email is kept only when the provider marks it
 * `email_verified: true` (or "true", as AWS Cognito sends it), unless `oidc.trustUnverifiedEmail`: an
 * address the provider never verified may belong to anyone, so email rules and X-Forwarded-Email ignore it.
 */
import type { Config } from '../config/schema.js';
import type { Identity } from '../identity.js';

/** How claims become an identity; built once from the configuration (the filter is compiled here). */
export interface IdentityRules {
  groupsClaim: string;
  userClaim: string;
  groupsFilter: RegExp | undefined;
  trustUnverifiedEmail: boolean;
}

/** The identity rules of an `oidc` configuration section. */
export function identityRules(oidc: Pick<Config['oidc'], 'groupsClaim' | 'groupsFilter' | 'trustUnverifiedEmail' | 'userClaim'>): IdentityRules {
  return {
    groupsClaim: oidc.groupsClaim,
    userClaim: oidc.userClaim,
    // No 'g' or 'y' flag: test() must not carry lastIndex from one group to the next.
    groupsFilter: oidc.groupsFilter === undefined ? undefined : new RegExp(oidc.groupsFilter, 'u'),
    trustUnverifiedEmail: oidc.trustUnverifiedEmail,
  };
}

/**
 * Claims without a usable `oidc.userClaim` (absent, empty, not text or a number, or an email the provider
 * did not verify): the user cannot be named, so the login or the bearer token is refused rather than
 * named by another claim an upstream could mistake for it.
 */
export class MissingUserClaim extends Error {
  override readonly name = 'MissingUserClaim';
}

/** True when the claims mark their email as verified (boolean true, or the string "true"). */
export function emailVerified(claims: Record<string, unknown>): boolean {
  return claims.email_verified === true || claims.email_verified === 'true';
}

/**
 * Reads an Identity out of claims; `claimNames` are the claims some upstream's `allow.claims` needs. A
 * refresh passes the `user` its login found (the user does not change within a session). Throws
 * MissingUserClaim when `oidc.userClaim` names a claim the claims lack.
 */
export function identityFromClaims(claims: Record<string, unknown>, rules: IdentityRules, claimNames: readonly string[], knownUser?: string): Identity {
  const raw = claims[rules.groupsClaim];
  let groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
  const filter = rules.groupsFilter;
  if (filter) groups = groups.filter((g) => filter.test(g));
  const trustEmail = rules.trustUnverifiedEmail || emailVerified(claims);
  const kept: Record<string, unknown> = {};
  // allow.claims may name `email` too: the same rule holds there.
  for (const name of claimNames) if (claims[name] !== undefined && (name !== 'email' || trustEmail)) kept[name] = claims[name];
  const email = typeof claims.email === 'string' && trustEmail ? claims.email : undefined;
  const user = rules.userClaim === 'sub' ? undefined : (knownUser ?? userFromClaim(rules.userClaim === 'email' ? email : claims[rules.userClaim], rules.userClaim));
  return {
    sub: String(claims.sub),
    ...(user === undefined ? {} : { user }),
    email,
    preferredUsername: typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined,
    groups,
    claims: kept,
  };
}

/**
 * Merges ID token claims over userinfo claims. `email` and `email_verified` are taken as a pair from one
 * source (the ID token when it has an email, else userinfo), so a verified flag from one source never
 * vouches for an address from the other.
 */
export function mergeClaims(idToken: Record<string, unknown>, userinfo: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...userinfo, ...idToken };
  const emailSource = idToken.email !== undefined ? idToken : userinfo;
  delete merged.email;
  delete merged.email_verified;
  if (emailSource.email !== undefined) merged.email = emailSource.email;
  if (emailSource.email_verified !== undefined) merged.email_verified = emailSource.email_verified;
  return merged;
}

function userFromClaim(value: unknown, claim: string): string {
  if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  throw new MissingUserClaim(`the "${claim}" claim (oidc.userClaim) is ${value === undefined ? 'missing' : 'not usable'}${claim === 'email' ? ' or not verified' : ''}`);
}
