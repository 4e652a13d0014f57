/**
 * The userinfo request at login (`oidc.userinfo`): with auto, only when the ID token lacks a claim the
 * gateway uses (the email, the groups claim, the user claim, a claim a policy names); always; or never. A
 * userinfo failure does not fail the login: the ID token's claims are used alone.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Discovered } from './discovery.js';
import { dpopOptions } from './dpop-handle.js';
import { mergeClaims } from './identity.js';
import type { ProviderCall } from './provider-call.js';

/** When to ask userinfo, and which claims the gateway uses (with auto, one missing from the ID token asks). */
export interface UserinfoPolicy {
  mode: 'auto' | 'always' | 'never';
  /** The claims the gateway reads at this moment (policies can be reloaded). */
  used(): readonly string[];
}

/** The ID token's claims, completed from the userinfo endpoint as `policy` says. */
export async function withUserinfo(
  provider: Discovered,
  call: ProviderCall,
  log: Logger,
  policy: UserinfoPolicy,
  accessToken: string,
  claims: Record<string, unknown>,
  /** The access token is DPoP-bound: it is presented with a proof (a bound token as a Bearer is refused). */
  bound = false,
): Promise<Record<string, unknown>> {
  const needed = policy.mode === 'always' || (policy.mode === 'auto' && policy.used().some((name) => claims[name] === undefined));
  if (!needed || !provider.metadata.userinfo_endpoint) return claims;
  try {
    const userinfo = await call('userinfo', () => client.fetchUserInfo(provider.configuration, accessToken, claims.sub as string, bound ? dpopOptions(provider.dpop) : undefined));
    return mergeClaims(claims, userinfo);
  } catch (err) {
    log.warn({ err }, 'userinfo request failed; using the ID token claims only');
    return claims;
  }
}
