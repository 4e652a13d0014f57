/**
 * How the gateway authenticates itself to the provider's token, introspection and revocation endpoints
 * (`oidc.clientAuthMethod`): one place for every client authentication method, private_key_jwt included later.
 */
import * as client from 'openid-client';
import type { Config } from '../config/schema.js';

/** openid-client's client authentication for the configured method. */
export function clientAuthFor(oidc: Pick<Config['oidc'], 'clientAuthMethod' | 'clientSecret'>): client.ClientAuth {
  return oidc.clientAuthMethod === 'client_secret_post' ? client.ClientSecretPost(oidc.clientSecret) : client.ClientSecretBasic(oidc.clientSecret);
}
