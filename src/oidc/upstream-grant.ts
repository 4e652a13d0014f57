/**
 * Tokens of an upstream's own (`upstreams[].accessToken`): a refresh grant with `resource=` and/or `scope=`
 * (RFC 8707, down-scoping) or a token exchange of the session's access token (RFC 8693). Both go through
 * the provider-call wrapper, so they are timed, counted and classified like every provider call; the place
 * where a DPoP handle joins them is here.
 */
import * as client from 'openid-client';
import type { Identity, TokenSet } from '../identity.js';
import type { Discovered } from './discovery.js';
import { dpopOptions } from './dpop-handle.js';
import { ProviderError, type ProviderCall } from './provider-call.js';
import { boundTo, checkIdToken } from './token-answer.js';

/** What an upstream's token is asked for with (its `accessToken` settings). */
export interface UpstreamTokenAsk {
  resource?: string | undefined;
  audience?: string | undefined;
  scopes?: readonly string[] | undefined;
}

/** A token for one upstream. */
export interface UpstreamToken {
  accessToken: string;
  /** Lower-cased token_type (bearer, dpop, n_a). */
  tokenType: string;
  /** With `oidc.dpop`: the thumbprint of the key a `dpop` token is bound to. */
  jkt?: string | undefined;
  /** When it expires (ms since the epoch); absent when the provider did not say. */
  expiresAt: number | undefined;
  obtainedAt: number;
}

/** A resource token and the refresh token the grant left the session with (rotated or the same). */
export interface ResourceGrantResult {
  token: UpstreamToken;
  /** The new refresh token when the provider rotated it; undefined when the old one stays valid. */
  rotatedRefreshToken: string | undefined;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function upstreamTokenFrom(response: client.TokenEndpointResponse, provider: Discovered): UpstreamToken {
  const now = Date.now();
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    ...boundTo(response, provider.dpop?.jkt),
    expiresAt: response.expires_in === undefined ? undefined : now + response.expires_in * 1000,
    obtainedAt: now,
  };
}

/**
 * A refresh grant for one upstream: `resource` and `scope` as its settings say. The answer's ID token, if
 * any, is checked like a session refresh's (same issuer and subject). Rejects with a ProviderError.
 */
export async function resourceTokenGrant(
  provider: Discovered,
  call: ProviderCall,
  tokens: TokenSet,
  identity: Identity,
  ask: UpstreamTokenAsk,
): Promise<ResourceGrantResult> {
  const refreshToken = tokens.refreshToken;
  if (refreshToken === undefined) {
    throw new ProviderError({ reason: 'invalid_grant', oauthError: 'invalid_grant', cause: new Error('the session has no refresh token') });
  }
  const parameters = new URLSearchParams();
  if (ask.resource !== undefined) parameters.set('resource', ask.resource);
  if (ask.scopes !== undefined) parameters.set('scope', ask.scopes.join(' '));
  const response = await call('resource_token', async () => {
    const answer = await client.refreshTokenGrant(provider.configuration, refreshToken, parameters, dpopOptions(provider.dpop));
    const claims = answer.id_token === undefined ? undefined : await checkIdToken(answer.id_token, provider.idTokenPolicy);
    if (claims && (claims.sub !== identity.sub || claims.iss !== provider.metadata.issuer)) {
      throw new ProviderError({ reason: 'invalid_response', cause: new Error('the ID token of a resource grant names another subject or issuer') });
    }
    return answer;
  });
  return { token: upstreamTokenFrom(response, provider), rotatedRefreshToken: response.refresh_token };
}

/** RFC 8693: the subject token exchanged for one with the upstream's audience (and resource, scope). */
export async function exchangeTokenGrant(provider: Discovered, call: ProviderCall, subjectToken: string, ask: UpstreamTokenAsk): Promise<UpstreamToken> {
  const parameters = new URLSearchParams({
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
  });
  if (ask.audience !== undefined) parameters.set('audience', ask.audience);
  if (ask.resource !== undefined) parameters.set('resource', ask.resource);
  if (ask.scopes !== undefined) parameters.set('scope', ask.scopes.join(' '));
  const response = await call('token_exchange', () => client.genericGrantRequest(provider.configuration, TOKEN_EXCHANGE, parameters, dpopOptions(provider.dpop)));
  return upstreamTokenFrom(response, provider);
}
