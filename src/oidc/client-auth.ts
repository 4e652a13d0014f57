/**
 * How the gateway authenticates itself to the provider's token, introspection and PAR
 * endpoints (`oidc.clientAuthMethod`): one place for every client authentication method. openid-client
 * hands the same ClientAuth to each of those calls.
 */
import * as client from 'openid-client';
import type { Config } from '../config/schema.js';
import { ClientSigningKey } from './client-keys.js';

type ClientAuthSettings = Pick<Config['oidc'], 'clientAuthMethod' | 'clientSecret' | 'clientPrivateKey' | 'clientPrivateKeyId'>;

/** The provider's client authentication, and the signing key when the method is private_key_jwt. */
export function clientAuthFor(oidc: ClientAuthSettings): { auth: client.ClientAuth; signingKey: ClientSigningKey | undefined } {
  // The schema requires the credential each method needs (schema-client-auth.ts).
  const secret = oidc.clientSecret ?? '';
  switch (oidc.clientAuthMethod) {
    case 'private_key_jwt': {
      const signingKey = new ClientSigningKey(oidc.clientPrivateKey ?? '', oidc.clientPrivateKeyId || undefined);
      return { auth: signingKey.clientAuth(), signingKey };
    }
    case 'client_secret_jwt':
      return { auth: client.ClientSecretJwt(secret), signingKey: undefined };
    case 'client_secret_post':
      return { auth: client.ClientSecretPost(secret), signingKey: undefined };
    default:
      return { auth: client.ClientSecretBasic(secret), signingKey: undefined };
  }
}
