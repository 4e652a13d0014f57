/**
 * The userinfo request at login, made only when the ID token lacks what the gateway needs (the email or the
 * groups claim). A userinfo failure does not fail the login: the ID token's claims are used alone.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Discovered } from './discovery.js';
import { dpopOptions } from './dpop-handle.js';
import { mergeClaims } from './identity.js';
import type { ProviderCall } from './provider-call.js';

/** The ID token's claims, completed from the userinfo endpoint when they lack the email or `groupsClaim`. */
export async function withUserinfo(
  provider: Discovered,
  call: ProviderCall,
  log: Logger,
  groupsClaim: string,
  accessToken: string,
  claims: Record<string, unknown>,
  /** The access token is DPoP-bound: it is presented with a proof (a bound token as a Bearer is refused). */
  bound = false,
): Promise<Record<string, unknown>> {
  const needed = claims.email === undefined || claims[groupsClaim] === undefined;
  if (!needed || !provider.metadata.userinfo_endpoint) return claims;
  try {
    const userinfo = await call('userinfo', () => client.fetchUserInfo(provider.configuration, accessToken, claims.sub as string, bound ? dpopOptions(provider.dpop) : undefined));
    return mergeClaims(claims, userinfo);
  } catch (err) {
    log.warn({ err }, 'userinfo request failed; using the ID token claims only');
    return claims;
  }
}
