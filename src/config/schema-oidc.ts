/** The `oidc` section (the provider and this client's registration) and the `api` section (bearer tokens it issues). */
import { z } from 'zod';
import { duration, flag, httpUrl, regExp, secret } from './schema-types.js';

/** The `oidc` section's shape. */
export const oidcSection = z.strictObject({
  issuer: httpUrl,
  clientId: z.string().min(1, { message: 'must not be empty' }),
  clientSecret: secret('the client secret is empty; give clientSecret or clientSecretFile'),
  clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'a scope is one word of printable characters' }))
    .refine((scopes) => scopes.includes('openid'), { message: 'must include "openid"' })
    .default(['openid', 'profile', 'email', 'offline_access']),
  groupsClaim: z.string().min(1).default('groups'),
  /** Only the groups it matches are kept in the session and sent upstream. */
  groupsFilter: regExp.optional(),
  /** Email rules and X-Forwarded-Email accept an email the provider did not mark email_verified: true. */
  trustUnverifiedEmail: flag.default(false),
  /** How far in the future an ID token's iat may be (clock differences). */
  clockSkew: duration.prefault('60s'),
  /** How old an ID token's iat may be when the gateway receives it. */
  maxIdTokenAge: duration.prefault('10m'),
  /** How often the provider's metadata and JWKS are fetched again. */
  metadataRefresh: duration.prefault('24h'),
  allowInsecureHttp: flag.default(false),
});

/** The `api` section's shape: access for clients without a browser session. */
export const apiSection = z
  .strictObject({
    acceptBearerTokens: flag.default(false),
    introspectOpaqueTokens: flag.default(false),
    /** Empty means the client id (set in configSchema). */
    audiences: z.array(z.string().min(1)).default([]),
  })
  .prefault({});
