/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's end-session URL. */
import * as client from 'openid-client';
import type { Discovered } from './discovery.js';

/** The provider's end-session URL, or null when the provider is not loaded or offers none. */
export function buildEndSessionUrl(
  provider: Discovered | undefined,
  clientId: string,
  idToken: string | undefined,
  postLogoutRedirectUri: string,
): URL | null {
  if (!provider?.metadata.end_session_endpoint) return null;
  return client.buildEndSessionUrl(provider.configuration, {
    client_id: clientId,
    post_logout_redirect_uri: postLogoutRedirectUri,
    ...(idToken ? { id_token_hint: idToken } : {}),
  });
}
