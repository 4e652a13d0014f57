/**
 * GET /oauth2/jwks: the JWK Set of the public halves of the providers' private_key_jwt keys, so a provider
 * can be given the gateway's keys as a `jwks_uri`. Always answered here (never by an upstream mounted at
 * "/"): with no such key it is the empty set `{"keys":[]}`, a valid JWK Set a provider parses and finds no
 * key in, where a 404 would read as a wrong address.
 */
import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';
import type { Providers } from '../oidc/providers.js';

/** The JWKS path. */
export const JWKS_PATH = '/oauth2/jwks';

/** Registers /oauth2/jwks. */
export function registerJwks(app: FastifyInstance, providers: Providers): void {
  app.get(JWKS_PATH, async (_request, reply) => {
    const keys: JWK[] = [];
    const kids = new Set<string>();
    for (const provider of providers.list) {
      if (!provider.clientSigningKey) continue;
      // The alg the gateway signs with at that provider (it can depend on the provider's metadata).
      const jwk = await provider.clientSigningKey.publicJwk(provider.metadata?.token_endpoint_auth_signing_alg_values_supported);
      if (kids.has(jwk.kid ?? '')) continue; // one key shared by several providers is published once
      kids.add(jwk.kid ?? '');
      keys.push(jwk);
    }
    // Public keys, short-lived in caches so a replaced key is fetched again within minutes.
    reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json');
    // A Buffer: fastify would add "; charset=utf-8" to a string, a parameter this media type does not define.
    return Buffer.from(JSON.stringify({ keys }));
  });
}
