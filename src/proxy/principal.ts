/**
 * Who a request acts as: the signed-in user of its session or, with `api.acceptBearerTokens`, the subject
 * of a valid JWT access token it carries (`Authorization: Bearer`). A session wins when both are present.
 * Used by the guard and by forward-auth alike, so both judge the same principal.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { createAccessTokenVerifier, InvalidAccessToken, type AccessTokenVerifier } from '../oidc/access-token.js';
import { identityFromClaims } from '../oidc/identity.js';
import { loadActiveSession } from '../session/access.js';
import type { Identity } from '../session/types.js';

/** The identity a request acts as and the access token that goes with it. */
export interface Principal {
  identity: Identity;
  accessToken: string;
  source: 'session' | 'bearer';
}

/** The outcome of looking for a principal. */
export type PrincipalResult = { principal: Principal } | { principal: undefined; invalidBearer: boolean };

/** How long an unknown kid blocks another JWKS fetch. */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TIMEOUT_MS = 5_000;

/** Creates the resolver for one gateway. */
export function createPrincipalResolver(ctx: Omit<GatewayContext, 'resolvePrincipal'>) {
  const { api, oidc } = ctx.config;
  const claimNames = [...new Set(ctx.config.upstreams.flatMap((u) => Object.keys(u.allow.claims)))];
  let verifier: AccessTokenVerifier | undefined;

  function getVerifier(): AccessTokenVerifier {
    const metadata = ctx.provider.metadata;
    if (!metadata?.jwks_uri) {
      throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to check this token. Please retry.');
    }
    verifier ??= createAccessTokenVerifier({
      issuer: metadata.issuer,
      jwksUri: metadata.jwks_uri,
      audiences: api.audiences,
      providerAlgorithms: metadata.id_token_signing_alg_values_supported,
      cooldownMs: JWKS_COOLDOWN_MS,
      fetchJwks: async (url) => {
        const response = await fetch(url, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), headers: { accept: 'application/json' } });
        if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
        return (await response.json()) as { keys: [] };
      },
    });
    return verifier;
  }

  return async function resolvePrincipal(request: FastifyRequest, reply: FastifyReply): Promise<PrincipalResult> {
    const session = await loadActiveSession(ctx, request, reply);
    if (session) return { principal: { identity: session.identity, accessToken: session.tokens.accessToken, source: 'session' } };
    const token = api.acceptBearerTokens ? bearerToken(request.headers.authorization) : undefined;
    if (token === undefined) return { principal: undefined, invalidBearer: false };
    try {
      const claims = await getVerifier()(token);
      return { principal: { identity: identityFromClaims(claims, oidc.groupsClaim, claimNames), accessToken: token, source: 'bearer' } };
    } catch (err) {
      if (err instanceof InvalidAccessToken) {
        request.log.info({ reason: err.message }, 'bearer token refused');
        return { principal: undefined, invalidBearer: true };
      }
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to check this token. Please retry.', {
        cause: err,
      });
    }
  };
}

/** The resolver's type. */
export type ResolvePrincipal = ReturnType<typeof createPrincipalResolver>;

/** The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive), if any. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match?.[1];
}
