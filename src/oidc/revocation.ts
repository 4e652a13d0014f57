/**
 * RFC 7009 token revocation at sign-out: the session's refresh token (or, without one, its access token) is
 * handed back to the provider, authenticated as this client (client_secret_*, private_key_jwt), so what the
 * gateway held stops working at the provider too. At oidc-provider and Keycloak, revoking either token ends
 * the grant it came from. A provider without a revocation_endpoint is not asked.
 */
import * as client from 'openid-client';
import type { TokenSet } from '../identity.js';
import type { Discovered } from './discovery.js';
import type { ProviderCall } from './provider-call.js';

/** Which token went back to the provider, or why none did. */
export type RevocationOutcome = 'refresh_token' | 'access_token' | 'not_offered' | 'no_token';

/** Revokes the session's longest-lived token; rejects with a ProviderError when the provider failed. */
export async function revokeSessionTokens(provider: Discovered | undefined, call: ProviderCall, tokens: TokenSet): Promise<RevocationOutcome> {
  if (!provider?.metadata.revocation_endpoint) return 'not_offered';
  const [token, hint] = tokens.refreshToken ? [tokens.refreshToken, 'refresh_token' as const] : [tokens.accessToken, 'access_token' as const];
  if (!token) return 'no_token';
  await call('revocation', () => client.tokenRevocation(provider.configuration, token, { token_type_hint: hint }));
  return hint;
}
