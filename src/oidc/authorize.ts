/**
 * The authorization request and what comes back from it: the provider's authorization URL for a login (code
 * flow, PKCE S256, state and nonce; pushed-authorization.ts may push them), and the RFC 9207 check of the response's issuer.
 */
import { createHash } from 'node:crypto';
import type * as client from 'openid-client';

/** The checks a callback must pass: what the login transaction remembered. */
export interface CallbackChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What a login asks the provider for, from the `oidc` section and from the features that add to it. */
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
  /** With `oidc.dpop`: the thumbprint of the gateway's DPoP key. */
  dpopJkt?: string | undefined;
  /** RFC 8707 resources the upstreams' own tokens will be asked for: one `resource=` each (so URLSearchParams). */
  resources?: readonly string[];
}

/** The authorization request's parameters (client_id and response_type are openid-client's to add). */
export function authorizationParams(redirectUri: string, checks: CallbackChecks, ask: AuthorizationAsk): URLSearchParams {
  const params = new URLSearchParams(ask.extraParams);
  params.set('redirect_uri', redirectUri);
  params.set('scope', ask.scopes.join(' '));
  params.set('state', checks.state);
  params.set('nonce', checks.nonce);
  params.set('code_challenge', pkceChallenge(checks.codeVerifier));
  params.set('code_challenge_method', 'S256');
  if (ask.prompt !== undefined) params.set('prompt', ask.prompt);
  if (ask.acrValues !== undefined) params.set('acr_values', ask.acrValues);
  if (ask.maxAge !== undefined) params.set('max_age', String(ask.maxAge));
  // RFC 9449 §10: the code is bound to the DPoP key (with PAR the proof on the push binds it too; the same jkt).
  if (ask.dpopJkt !== undefined) params.set('dpop_jkt', ask.dpopJkt);
  for (const resource of ask.resources ?? []) params.append('resource', resource);
  return params;
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
