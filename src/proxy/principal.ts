/**
 * Who a request acts as: the signed-in user of its session or, with `api.acceptBearerTokens`, the subject
 * of a valid JWT access token it carries (`Authorization: Bearer`). A session wins when both are present.
 * Used by the guard and by forward-auth alike, so both judge the same principal.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Identity } from '../identity.js';
import { createAccessTokenVerifier, InvalidAccessToken, type AccessTokenVerifier } from '../oidc/access-token.js';
import { identityFromClaims, identityRules, MissingUserClaim, type IdentityRules } from '../oidc/identity.js';
import type { OidcProvider } from '../oidc/provider.js';
import type { Providers } from '../oidc/providers.js';
import { loadSession, type SessionAccess } from '../session/access.js';
import { upstreamDpopOf, type UpstreamDpop } from './upstream-dpop.js';
import type { CompiledUpstream, RouteTable } from './upstreams.js';

/** The identity a request acts as, the access token that goes with it, and the provider that vouches for it. */
export interface Principal {
  identity: Identity;
  accessToken: string;
  source: 'session' | 'bearer';
  /** The id of the provider of the session or of the token's issuer. */
  provider: string;
  /** The login's `acr` and `auth_time` (seconds): the session's, or the bearer token's own claims (RFC 9470). */
  acr?: unknown;
  authTime?: unknown;
  /** A session's DPoP-bound token: what proves it upstream (undefined for a Bearer token). */
  dpop: UpstreamDpop | undefined;
}

/** The outcome of looking for a principal. */
export type PrincipalResult = { principal: Principal } | { principal: undefined; invalidBearer: boolean };

/** What the resolver needs: the session, the providers (keys, introspection) and the bearer-token settings. */
export interface PrincipalDeps {
  session: SessionAccess;
  providers: Providers;
  routes: RouteTable;
  api: Config['api'];
}

/** Finds who a request acts as; may reject with a 503 GatewayError. */
export type ResolvePrincipal = (request: FastifyRequest) => Promise<PrincipalResult>;

/**
 * The principal as an upstream sees it: a session or token from a provider the upstream does not accept
 * (`upstreams[].providers`) counts as none there, so a browser is offered the providers it does accept.
 */
export function acceptedBy(upstream: CompiledUpstream, principal: Principal | undefined): Principal | undefined {
  const accepted = upstream.config.providers;
  return principal === undefined || accepted === undefined || accepted.includes(principal.provider) ? principal : undefined;
}

/** One provider's bearer-token checks: its verifier (built once its keys are loaded) and its identity rules. */
interface BearerChecks {
  provider: OidcProvider;
  rules: IdentityRules;
  verifier?: AccessTokenVerifier;
}

/** Creates the resolver for one gateway. */
export function createPrincipalResolver(deps: PrincipalDeps): ResolvePrincipal {
  const { api, providers, routes } = deps;
  const checks = new Map<OidcProvider, BearerChecks>(providers.list.map((provider) => [provider, { provider, rules: identityRules(provider.settings) }]));

  /**
   * The checks of the provider that issued a JWT, by its unverified `iss` (only to choose whose keys verify
   * it: the verifier then requires that very issuer). A token naming no configured issuer is refused.
   */
  function checksFor(token: string): BearerChecks {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new InvalidAccessToken('not a decodable JWT');
    }
    const provider = typeof issuer === 'string' ? providers.byIssuer(issuer) : undefined;
    if (!provider) throw new InvalidAccessToken('issued by no configured provider');
    return checks.get(provider)!;
  }

  /** The provider's verifier, once its metadata and keys are loaded (the keys are the provider's one set). */
  function getVerifier(bearer: BearerChecks): AccessTokenVerifier {
    const { provider } = bearer;
    const metadata = provider.metadata;
    const keys = provider.keys;
    if (!metadata || !keys) {
      throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to check this token. Please retry.');
    }
    // With several providers and no api.audiences, a token must be meant for this gateway's client at its issuer.
    const audiences = api.audiences.length > 0 ? api.audiences : [provider.settings.clientId];
    bearer.verifier ??= createAccessTokenVerifier({ issuer: metadata.issuer, audiences, keys });
    return bearer.verifier;
  }

  const introspected = new LRUCache<string, Record<string, unknown> | false>({ max: 10_000 });

  /**
   * An opaque token, judged by the provider (RFC 7662) when `api.introspectOpaqueTokens` is on: active, not
   * expired, and for one of `api.audiences` (or, when the answer names no audience, issued to this client).
   * Answers are cached until the token expires (at most 5 minutes); refusals for 30 seconds. Opaque tokens
 * carry no issuer: they are asked of the primary (first) provider only.
   */
  async function introspect(token: string): Promise<Record<string, unknown>> {
    if (!api.introspectOpaqueTokens) throw new InvalidAccessToken('not a JWT and introspection is off');
    const audiences = api.audiences.length > 0 ? api.audiences : [providers.primary.settings.clientId];
    const key = createHash('sha256').update(token).digest('base64url');
    let answer = introspected.get(key);
    if (answer === undefined) {
      const response = await providers.primary.introspect(token);
      const exp = typeof response.exp === 'number' ? response.exp * 1000 : undefined;
      const aud = response.aud === undefined ? undefined : ([] as unknown[]).concat(response.aud);
      // Without an audience in the answer, only a token issued to this very client is accepted: some
      // providers let any client introspect any token, and another client's token is not ours to honour.
      const forUs =
        aud !== undefined ? aud.some((a) => typeof a === 'string' && audiences.includes(a)) : response.client_id === providers.primary.settings.clientId;
      const at = Date.now(); // the cache's TTL runs on real time too
      const valid = response.active === true && typeof response.sub === 'string' && (exp === undefined || exp > at) && forUs;
      answer = valid ? response : false;
      const ttl = valid ? Math.min(5 * 60_000, (exp ?? at + 5 * 60_000) - at) : 30_000;
      if (ttl > 0) introspected.set(key, answer, { ttl });
    }
    if (answer === false) throw new InvalidAccessToken('introspection: not active');
    return answer;
  }

  /** The principal of a request without a session: a valid bearer token (with `api.acceptBearerTokens`). */
  async function fromBearer(request: FastifyRequest): Promise<PrincipalResult> {
    const token = api.acceptBearerTokens ? bearerToken(request.headers.authorization) : undefined;
    if (token === undefined) return NO_PRINCIPAL;
    try {
      const bearer = isJwt(token) ? checksFor(token) : checks.get(providers.primary)!;
      const claims = isJwt(token) ? await getVerifier(bearer)(token) : await introspect(token);
      // RFC 9449 7.1 (and RFC 8705): a token bound to a key (cnf) is worthless without proof of that key; as
      // Bearer it would make a leaked DPoP-bound token (an upstream sees the session's) usable by anyone.
      if (claims.cnf !== undefined) throw new InvalidAccessToken('a sender-constrained token (cnf) presented as Bearer');
      const identity = identityFromClaims(claims, bearer.rules, routes.current.claimNames);
      return { principal: { identity, accessToken: token, source: 'bearer', provider: bearer.provider.id, acr: claims.acr, authTime: claims.auth_time, dpop: undefined } };
    } catch (err) {
      if (err instanceof InvalidAccessToken || err instanceof MissingUserClaim) {
        request.log.info({ reason: err.message }, 'bearer token refused');
        return { principal: undefined, invalidBearer: true };
      }
      if (err instanceof GatewayError) throw err;
      throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to check this token. Please retry.', {
        cause: err,
      });
    }
  }

  return async function resolvePrincipal(request) {
    const session = await loadSession(deps.session, request);
    if (session) {
      return {
        principal: {
          identity: session.identity,
          accessToken: session.tokens.accessToken,
          source: 'session',
          provider: session.provider ?? providers.primary.id,
          acr: session.acr,
          authTime: session.authAt,
          dpop: session.tokens.jkt === undefined ? undefined : upstreamDpopOf(providers.ofSession(session)?.dpopKeys, session.tokens),
        },
      };
    }
    return api.acceptBearerTokens ? fromBearer(request) : NO_PRINCIPAL;
  };
}

/** No session and no bearer token. */
export const NO_PRINCIPAL: PrincipalResult = Object.freeze({ principal: undefined, invalidBearer: false });

/** A compact JWS has three base64url parts; anything else is an opaque token. */
function isJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive), if any. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match?.[1];
}
