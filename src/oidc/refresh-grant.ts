/**
 * The refresh token grant. A rotated refresh token replaces the old one; a provider that does not rotate
 * keeps the old one valid. A new ID token is checked like a login's (token-answer.ts) and must name the same
 * issuer and subject (OIDC Core 12.2).
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Identity, TokenSet } from '../identity.js';
import type { Discovered } from './discovery.js';
import { dpopOptions } from './dpop-handle.js';
import { ProviderError, type ProviderCall } from './provider-call.js';
import { checkIdToken, tokenSetFrom } from './token-answer.js';

/** What a refresh grant produced. */
export type RefreshOutcome =
  | { ok: true; tokens: TokenSet; identity: Identity }
  /** invalid_grant: refused; invalid_response: tokens that fail validation (another iss or sub, a bad
   * signature); unavailable: the provider could not be reached or failed (5xx, network, timeout). */
  | { ok: false; reason: RefreshFailure };

type RefreshFailure = 'invalid_grant' | 'invalid_response' | 'unavailable';

/** What a refresh needs besides the provider. */
export interface RefreshSteps {
  call: ProviderCall;
  log: Logger;
  groupsClaim: string;
  identityFrom(claims: Record<string, unknown>, knownUser?: string): Identity;
}

/** The log line of each failed outcome. */
const LOG_LINE: Record<RefreshFailure, string> = {
  invalid_grant: 'refresh token refused by the provider',
  invalid_response: 'refresh response failed validation; ending the session',
  unavailable: 'token refresh failed',
};

/**
 * Uses the session's refresh token. Refused grants and answers that fail validation end the session; a
 * provider that cannot answer, or answers with an OAuth error about this client rather than the grant,
 * keeps it (the caller retries later).
 */
export async function refreshTokens(provider: Discovered | undefined, steps: RefreshSteps, tokens: TokenSet, identity: Identity): Promise<RefreshOutcome> {
  if (!tokens.refreshToken) return { ok: false, reason: 'invalid_grant' };
  if (!provider) return { ok: false, reason: 'unavailable' };
  try {
    return await refreshGrant(provider, steps, tokens.refreshToken, tokens, identity);
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    const reason: RefreshFailure = err.reason === 'rejected' ? 'unavailable' : err.reason;
    steps.log.warn({ err, sub: identity.sub }, LOG_LINE[reason]);
    return { ok: false, reason };
  }
}

async function refreshGrant(provider: Discovered, steps: RefreshSteps, refreshToken: string, tokens: TokenSet, identity: Identity): Promise<RefreshOutcome> {
  const response = await steps.call('refresh', () => client.refreshTokenGrant(provider.configuration, refreshToken, undefined, dpopOptions(provider.dpop)));
  const claims = response.id_token === undefined ? undefined : await checkIdToken(response.id_token, provider.idTokenPolicy);
  if (claims && (claims.sub !== identity.sub || claims.iss !== provider.metadata.issuer)) {
    const mismatch = new Error('the refreshed ID token names another subject or issuer');
    throw new ProviderError({ reason: 'invalid_response', cause: mismatch });
  }
  return {
    ok: true,
    tokens: tokenSetFrom(response, tokens, provider.dpop?.jkt),
    identity: claims ? refreshedIdentity(steps, identity, claims) : identity,
  };
}

/** A refreshed ID token may leave out what the login had from userinfo (email, groups): keep those. */
function refreshedIdentity(steps: RefreshSteps, identity: Identity, claims: Record<string, unknown>): Identity {
  // The user does not change within a session: a session from before oidc.userClaim was set keeps its sub.
  const fresh = steps.identityFrom({ ...identity.claims, ...claims }, identity.user ?? identity.sub);
  return {
    ...fresh,
    email: claims.email === undefined ? identity.email : fresh.email,
    preferredUsername: claims.preferred_username === undefined ? identity.preferredUsername : fresh.preferredUsername,
    groups: claims[steps.groupsClaim] === undefined ? identity.groups : fresh.groups,
  };
}
