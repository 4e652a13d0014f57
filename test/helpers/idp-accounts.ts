/**
 * Who exists at the test identity provider: its users (any password is accepted) and the relying parties
 * registered there, in the shapes oidc-provider takes them.
 */
import type { Account, ClientMetadata } from 'oidc-provider';

/** A person who can sign in at the test identity provider (any password is accepted). */
export interface IdpUser {
  sub: string;
  email: string;
  emailVerified?: boolean;
  preferredUsername: string;
  name: string;
  groups: string[];
}

/** The default users, so tests and the demo share well-known identities. */
export const demoUsers: IdpUser[] = [
  { sub: 'alice', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice Admin', groups: ['admins', 'staff'] },
  { sub: 'bob', email: 'bob@example.org', emailVerified: true, preferredUsername: 'bob', name: 'Bob Staff', groups: ['staff'] },
];

/** A relying party registered at the provider (a confidential web client using the code flow). */
export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  backchannelLogoutUri?: string;
}

/** The provider's registration of a relying party: a confidential code-flow client. */
export function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    token_endpoint_auth_method: client.authMethod ?? 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    response_types: ['code'],
    ...(client.backchannelLogoutUri
      ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  };
}

/** The provider's account for a user, with the claims the scopes release. */
export function account(user: IdpUser): Account {
  return {
    accountId: user.sub,
    claims: () => ({
      sub: user.sub,
      email: user.email,
      email_verified: user.emailVerified ?? true,
      name: user.name,
      preferred_username: user.preferredUsername,
      groups: user.groups,
    }),
  };
}
