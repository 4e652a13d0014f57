/**
 * The test provider's oidc-provider configuration (clients, scopes and claims, PKCE, logout, resource
 * indicators, token lifetimes, offline pages) and the construction of the provider from it.
 */
import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC, ResourceServer, SigningAlgorithm } from 'oidc-provider';
import { account, clientMetadata, type IdpUser } from './idp-accounts.js';
import { API_CLIENT_REDIRECT_URI, API_SCOPE, AUTHORIZATION_PATH, JWKS_PATH, TOKEN_PATH, type ApiClient } from './idp-api-client.js';
import type { SigningKey } from './idp-signing.js';
import type { IdpOptions } from './idp-types.js';
import { acrValuesCheck } from './idp-step-up.js';

// oidc-provider reports itself through console.warn/console.info: on import (Node 20 is "unsupported")
// and on construction (dev-only interactions, in-memory adapter). Drop only those lines, only meanwhile.
async function withoutProviderNotices<T>(work: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const filter = (original: (...args: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(args[0])) return;
    original.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the configuration needs from the provider being started. */
export interface ConfigurationInputs {
  options: IdpOptions;
  users: Map<string, IdpUser>;
  apiClient: ApiClient;
  providerKey: SigningKey;
  /** PKCE challenges of authorization requests that asked for offline_access (see issueRefreshToken). */
  offlineChallenges: Set<string>;
}

/** The oidc-provider configuration of the test provider. */
export function providerConfiguration({ options, users, apiClient, providerKey, offlineChallenges }: ConfigurationInputs): Configuration {
  const wantsOffline = (ctx: KoaContextWithOIDC, code: { codeChallenge?: string; scopes: Set<string> }) =>
    ctx.oidc.client?.grantTypeAllowed('refresh_token') === true
    && (code.scopes.has('offline_access') || (code.codeChallenge !== undefined && offlineChallenges.has(code.codeChallenge)));

  return {
    clients: [
      ...options.clients.map(clientMetadata),
      {
        client_id: apiClient.clientId,
        client_secret: apiClient.clientSecret,
        redirect_uris: [API_CLIENT_REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'client_credentials'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [providerKey.jwk] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      ...(options.cookieSuffix
        ? { names: { session: `_session${options.cookieSuffix}`, interaction: `_interaction${options.cookieSuffix}`, resume: `_interaction_resume${options.cookieSuffix}` } }
        : {}),
    },
    clockTolerance: options.clockTolerance ?? 0,
    enabledJWA: {
      ...(options.idTokenSigningAlgs ? { idTokenSigningAlgValues: options.idTokenSigningAlgs } : {}),
      ...(options.clientAuthSigningAlgs ? { clientAuthSigningAlgValues: options.clientAuthSigningAlgs as SigningAlgorithm[] } : {}),
    },
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      return user ? account(user, options.userinfoOnlyClaims) : undefined;
    },
    pkce: { required: () => true },
    routes: { authorization: AUTHORIZATION_PATH, token: TOKEN_PATH, jwks: JWKS_PATH },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button><button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = page('Signed out', '<p>You are signed out of the identity provider.</p>');
        },
      },
      backchannelLogout: { enabled: true },
      revocation: { enabled: options.revocation ?? true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      clientCredentials: { enabled: true },
      pushedAuthorizationRequests: { enabled: (options.par ?? 'off') !== 'off', requirePushedAuthorizationRequests: options.par === 'required' },
      // Set up below, once the provider's module (and its InvalidTarget error) is loaded.
      resourceIndicators: { enabled: false },
    },
    // Identity claims in JWT access tokens for users, as Keycloak and Okta put them there; nothing else changes.
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token && token.resourceServer?.accessTokenFormat === 'jwt' ? users.get(token.accountId) : undefined;
      return user
        ? { email: user.email, email_verified: user.emailVerified ?? true, preferred_username: user.preferredUsername, groups: user.groups }
        : undefined;
    },
    // offline_access only survives an authorization request that also says prompt=consent (OIDC Core 11);
    // most real providers do not insist, so a refresh token is issued when the request asked for offline_access.
    issueRefreshToken: (ctx, _client, code) => wantsOffline(ctx, code),
    expiresWithSession: (ctx, code) => !wantsOffline(ctx, code),
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    ttl: {
      AccessToken: (ctx) =>
        ctx.oidc.params?.grant_type === 'refresh_token' ? (options.refreshedAccessTokenTtl ?? options.accessTokenTtl ?? 3600) : (options.accessTokenTtl ?? 3600),
      ClientCredentials: options.accessTokenTtl ?? 3600,
      IdToken: options.idTokenTtl ?? 3600,
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Identity provider error', Object.entries(out).map(([k, v]) => `<p id="${escapeHtml(k)}">${escapeHtml(String(v))}</p>`).join(''));
    },
    // The default fetch refuses loopback addresses (SSRF guard), which would stop back-channel logout to 127.0.0.1.
    fetch: (url, init) => {
      const unguarded: RequestInit & { dispatcher?: unknown } = { ...init };
      delete unguarded.dispatcher;
      return fetch(url, unguarded);
    },
  };
}

/** Builds the provider at `issuer` (resource indicators and the login policy need its module loaded first). */
export function createProvider(issuer: string, configuration: Configuration, resourceScopes: readonly string[] = []): Promise<Provider> {
  return withoutProviderNotices(async () => {
    const { default: ProviderClass, interactionPolicy, errors } = await import('oidc-provider');
    // Any absolute http(s) URL is a resource server whose tokens are JWTs with that audience. Requests without
    // `resource` (the gateway's own logins) keep getting opaque access tokens for userinfo, as before.
    configuration.features = {
      ...configuration.features,
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource): ResourceServer => {
          if (!/^https?:\/\/[^/?#]+/.test(resource)) throw new errors.InvalidTarget();
          return { scope: [API_SCOPE, ...resourceScopes].join(' '), audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    };
    // devInteractions accepts any login name; one we do not know shows the login form again instead of a 500.
    const policy = interactionPolicy.base();
    policy.get('login')?.checks.add(
      new interactionPolicy.Check('unknown_account', 'the signed-in user does not exist', (ctx) =>
        Boolean(ctx.oidc.session?.accountId && !ctx.oidc.account)),
    );
    policy.get('login')?.checks.add(acrValuesCheck(interactionPolicy));
    return new ProviderClass(issuer, { ...configuration, interactions: { policy } });
  });
}
