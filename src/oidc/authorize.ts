/**
 * The authorization request and what comes back from it: the provider's authorization URL for a login (code
 * flow, PKCE S256, state and nonce; PAR lands here), and the RFC 9207 check of the response's issuer.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Discovered } from './discovery.js';

/** The checks a callback must pass: what the login transaction remembered. */
export interface CallbackChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What a login asks the provider for, from the `oidc` section. */
export interface AuthorizationAsk {
  scopes: readonly string[];
  /** `oidc.prompt`; none by default: consent is the provider's to ask when it needs it. */
  prompt: string | undefined;
  /** `oidc.extraAuthorizeParams`; the schema refuses the names set here. */
  extraParams: Readonly<Record<string, string>>;
  /** Step-up (`allow.acr`, space-separated in order): overrides an `acr_values` in extraParams. */
  acrValues?: string;
  /** Step-up (`allow.maxAge`, seconds): overrides a `max_age` in extraParams. */
  maxAge?: number;
  /** RFC 8707 resources the upstreams' own tokens will be asked for: one `resource=` each. */
  resources?: readonly string[];
}

/** The provider's authorization URL for a login; `redirectUri` is the gateway's callback. */
export function buildAuthorizationUrl(provider: Discovered, redirectUri: string, checks: CallbackChecks, ask: AuthorizationAsk): URL {
  const parameters = new URLSearchParams({
    ...ask.extraParams,
    redirect_uri: redirectUri,
    scope: ask.scopes.join(' '),
    state: checks.state,
    nonce: checks.nonce,
    code_challenge: pkceChallenge(checks.codeVerifier),
    code_challenge_method: 'S256',
    ...(ask.prompt === undefined ? {} : { prompt: ask.prompt }),
    ...(ask.acrValues === undefined ? {} : { acr_values: ask.acrValues }),
    ...(ask.maxAge === undefined ? {} : { max_age: String(ask.maxAge) }),
  });
  for (const resource of ask.resources ?? []) parameters.append('resource', resource);
  return client.buildAuthorizationUrl(provider.configuration, parameters);
}

/**
 * RFC 9207 for every authorization response, error responses included (openid-client checks it only for
 * the responses it completes): false when the response names another issuer, or names none although this
 * provider promises to (`authorization_response_iss_parameter_supported`). Such a response may come from
 * another provider mixed up with this one, so not even its error is shown.
 */
export function responseIssuerMatches(metadata: Readonly<client.ServerMetadata> | undefined, query: URLSearchParams): boolean {
  if (!metadata) return true; // nothing to compare with; completeLogin refuses with 503 anyway
  const iss = query.get('iss');
  if (iss === null) return metadata.authorization_response_iss_parameter_supported !== true;
  return iss === metadata.issuer;
}

/**
 * The S256 code challenge (RFC 7636 §4.2): BASE64URL(SHA-256(verifier)). node:crypto's one-shot hash; the
 * WebCrypto digest openid-client offers goes through the thread pool and was a tenth of a login's CPU.
 */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
