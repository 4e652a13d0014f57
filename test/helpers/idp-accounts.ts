/**
 * Who exists at the test identity provider: its users (any password is accepted) and the relying parties
 * registered there, in the shapes oidc-provider takes them.
 */
import type { Account, ClientMetadata, JWK } from 'oidc-provider';

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
  /** Needed by every method but private_key_jwt. */
  clientSecret?: string | undefined;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | undefined;
  backchannelLogoutUri?: string;
  /** private_key_jwt: the client's public keys, registered as they are (or give jwksUri). */
  jwks?: { keys: JWK[] };
  /** private_key_jwt: where the provider fetches the client's keys (e.g. the gateway's /oauth2/jwks). */
  jwksUri?: string;
  /** The provider refuses this client's authorization requests unless pushed (RFC 9126). */
  requirePar?: boolean;
}

/** The provider's registration of a relying party: a confidential code-flow client. */
export function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    token_endpoint_auth_method: client.authMethod ?? 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    response_types: ['code'],
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    ...(client.requirePar ? { require_pushed_authorization_requests: true } : {}),
    ...(client.backchannelLogoutUri
      ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  };
}

/**
 * The provider's account for a user, with the claims the scopes release; `userinfoOnly` claims are left out
 * of ID tokens (only the userinfo endpoint gives them), as providers that keep ID tokens small do.
 */
export function account(user: IdpUser, userinfoOnly: readonly string[] = []): Account {
  return {
    accountId: user.sub,
    claims: (use) => {
      const claims: Record<string, unknown> = {
        sub: user.sub,
        email: user.email,
        email_verified: user.emailVerified ?? true,
        name: user.name,
        preferred_username: user.preferredUsername,
        groups: user.groups,
      };
      if (use === 'id_token') for (const name of userinfoOnly) delete claims[name];
      return claims as Awaited<ReturnType<Account['claims']>>;
    },
  };
}
