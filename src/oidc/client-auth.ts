/**
 * How the gateway authenticates itself to the provider's token, PAR, introspection and revocation
 * endpoints (`oidc.clientAuthMethod`): one place for every client authentication method. openid-client
 * hands the same ClientAuth to each of those calls.
 */
import * as client from 'openid-client';
import type { Config } from '../config/schema.js';
import { ClientSigningKey } from './client-keys.js';

type ClientAuthSettings = Pick<Config['oidc'], 'clientAuthMethod' | 'clientSecret' | 'clientPrivateKey' | 'clientPrivateKeyId' | 'clientAssertionAudience'>;

/**
 * `clientAssertionAudience: tokenEndpoint`: the assertion's `aud` is the token endpoint. oauth4webapi writes
 * the metadata's issuer there, so the assertion is made with metadata whose issuer reads as the token
 * endpoint; nothing else of that metadata is read when an assertion is made.
 */
function toTokenEndpoint(auth: client.ClientAuth): client.ClientAuth {
  return (as, metadata, body, headers) => auth(as.token_endpoint ? { ...as, issuer: as.token_endpoint } : as, metadata, body, headers);
}

/** The provider's client authentication, and the signing key when the method is private_key_jwt. */
export function clientAuthFor(oidc: ClientAuthSettings): { auth: client.ClientAuth; signingKey: ClientSigningKey | undefined } {
  // The schema requires the credential each method needs (schema-client-auth.ts).
  const secret = oidc.clientSecret ?? '';
  const audience = (auth: client.ClientAuth) => (oidc.clientAssertionAudience === 'tokenEndpoint' ? toTokenEndpoint(auth) : auth);
  switch (oidc.clientAuthMethod) {
    case 'private_key_jwt': {
      const signingKey = new ClientSigningKey(oidc.clientPrivateKey ?? '', oidc.clientPrivateKeyId || undefined);
      return { auth: audience(signingKey.clientAuth()), signingKey };
    }
    case 'client_secret_jwt':
      return { auth: audience(client.ClientSecretJwt(secret)), signingKey: undefined };
    case 'client_secret_post':
      return { auth: client.ClientSecretPost(secret), signingKey: undefined };
    default:
      return { auth: client.ClientSecretBasic(secret), signingKey: undefined };
  }
}
