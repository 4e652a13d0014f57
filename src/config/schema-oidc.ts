/** The `oidc` section (the provider and this client's registration) and the `api` section (bearer tokens it issues). */
import { z } from 'zod';
import { dpopKeyProblem, privateKeyText } from './private-key.js';
import { duration, flag, httpUrl, regExp, secret } from './schema-types.js';

/**
 * Authorization request parameters the gateway sets itself (the code flow, PKCE, state, nonce, the scope and
 * prompt keys): `extraAuthorizeParams` may not replace them.
 */
export const RESERVED_AUTHORIZE_PARAMS = new Set([
  'response_type',
  'response_mode',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'request',
  'request_uri',
  'dpop_jkt',
]);

const PARAM_NAME = /^[A-Za-z0-9_.-]+$/;

/** OIDC Core 3.1.2.1 prompt values; "none" may not be combined with another. Providers add their own (create). */
const prompt = z
  .string()
  .regex(/^[a-z_]+( [a-z_]+)*$/, { message: 'one or more prompt values separated by spaces, e.g. "consent" or "select_account"' })
  .refine((value) => value === 'none' || !value.split(' ').includes('none'), { message: '"none" cannot be combined with another prompt value' })
  .meta({ title: 'prompt' });

/** The `oidc` section's shape. */
export const oidcSection = z.strictObject({
  issuer: httpUrl,
  clientId: z.string().min(1, { message: 'must not be empty' }),
  /** Required for the client_secret_* methods (schema-client-auth.ts checks it). */
  clientSecret: secret('the client secret is empty; give clientSecret or clientSecretFile').optional(),
  clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']).default('client_secret_basic'),
  /** private_key_jwt's signing key (PEM or private JWK); its public half is served at /oauth2/jwks. */
  clientPrivateKey: privateKeyText.optional(),
  /**
   * The `aud` of private_key_jwt / client_secret_jwt assertions: the provider's issuer (FAPI 2.0, RFC 7523bis),
   * or its token endpoint, which RFC 7523 also allows and some providers require (Okta, login.gov).
   */
  clientAssertionAudience: z.enum(['issuer', 'tokenEndpoint']).default('issuer'),
  /** The `kid` of clientPrivateKey; empty or left out: its RFC 7638 thumbprint. */
  clientPrivateKeyId: z.string().optional(),
  /** RFC 9126: auto pushes when the provider advertises it; required refuses to log in otherwise; off never. */
  pushedAuthorizationRequests: z.enum(['auto', 'required', 'off']).default('auto'),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'a scope is one word of printable characters' }))
    .refine((scopes) => scopes.includes('openid'), { message: 'must include "openid"' })
    .default(['openid', 'profile', 'email', 'offline_access']),
  groupsClaim: z.string().min(1).default('groups'),
  /** The claim that names the user upstream (X-Forwarded-User, X-Auth-Request-User) and in logs. */
  userClaim: z.string().min(1).default('sub'),
  /**
   * The userinfo request at sign-in: auto when the ID token lacks a claim the gateway uses (email, the groups
   * claim, userClaim, a claim some allow.claims names); always at every sign-in; never.
   */
  userinfo: z.enum(['auto', 'always', 'never']).default('auto'),
  /** The authorization request's prompt; none by default (a login asking offline_access no longer forces consent). */
  prompt: prompt.optional(),
  /** More authorization request parameters, e.g. Google's access_type: offline or Entra's domain_hint. */
  extraAuthorizeParams: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'expected a text, number or boolean value' }).transform(String))
    .superRefine((params, ctx) => {
      for (const name of Object.keys(params)) {
        const problem = !PARAM_NAME.test(name)
          ? 'a parameter name of letters, digits, "_", "." or "-"'
          : name === 'prompt'
            ? 'set oidc.prompt instead'
            : name === 'scope'
              ? 'set oidc.scopes instead'
              : RESERVED_AUTHORIZE_PARAMS.has(name) || name.startsWith('client_')
                ? 'the gateway sets this parameter itself'
                : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    })
    .default({}),
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
  /** RFC 9449: tokens bound to the gateway's DPoP key (oidc/dpop-key.ts); off by default. */
  dpop: flag.default(false),
  /** The DPoP key (PEM or private JWK); empty or absent: derived from session.keys (oidc/dpop-key.ts). */
  dpopKey: z
    .string()
    .meta({ title: 'secret' })
    .superRefine((text, ctx) => {
      const problem = text === '' ? undefined : dpopKeyProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((text) => (text === '' ? undefined : text))
    .optional(),
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
