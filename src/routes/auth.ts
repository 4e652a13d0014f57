/**
 * Forward-auth: the gateway judges a request another proxy received, against the policy of the upstream
 * that matches it. The original request is believed only from peers in `server.trustedProxies`.
 * - `GET /oauth2/auth` (nginx auth_request, Traefik ForwardAuth): the original URI and host come from
 *   `X-Forwarded-Uri` + `X-Forwarded-Host` or `X-Original-URL`; when both speak and disagree both are judged
 *   and both must pass, so a proxy that sets one while passing a client's copy of the other cannot be
 *   steered. Answers 202.
 * - `/oauth2/auth/<original path>`, any method (Envoy ext_authz HTTP service with `path_prefix:
 *   /oauth2/auth`): the original path is the suffix, the host the request's own. Answers 200, as Envoy
 *   counts only 200 as allowed.
 * Allowed: X-Auth-Request-User/-Email/-Preferred-Username/-Groups/-Access-Token; 401 signed out; 403 denied.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { sendUnauthenticated } from '../http/replies.js';
import { compileTrustedProxies } from '../http/trusted-proxies.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { normaliseTarget } from '../proxy/normalise-path.js';
import { matchUpstream } from '../proxy/upstreams.js';

const ENVOY_PREFIX = '/oauth2/auth';
const ANY_METHOD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** The request another proxy asks about. */
interface OriginalRequest {
  host: string | undefined;
  uri: string;
}

/** Registers /oauth2/auth and /oauth2/auth/*. */
export function registerForwardAuth(app: FastifyInstance, ctx: GatewayContext): void {
  const isTrusted = compileTrustedProxies(ctx.config.server.trustedProxies);

  /** Judges every original the proxy reported (normally one); all must pass, the strictest answer wins. */
  async function judge(request: FastifyRequest, reply: FastifyReply, originals: OriginalRequest[], allowedStatus: 200 | 202) {
    reply.header('cache-control', 'no-store');
    const upstreams = [];
    for (const original of originals) {
      const target = normaliseTarget(original.uri);
      if (!target) return reply.code(400).send({ error: 'bad-original-uri' });
      const upstream = matchUpstream(ctx.routes.current.upstreams, original.host, target.path);
      if (!upstream) return reply.code(403).send({ error: 'no-route' });
      upstreams.push(upstream);
    }
    const needsPrincipal = upstreams.some((u) => u.config.auth !== 'public');
    const resolved = needsPrincipal ? await ctx.resolvePrincipal(request, reply) : { principal: undefined, invalidBearer: false };
    if (!resolved.principal && resolved.invalidBearer) {
      return sendUnauthenticated(reply, 'invalid_token');
    }
    const principal = resolved.principal;
    const decisions = upstreams.map((upstream) => {
      const decision = evaluatePolicy(upstream.config.auth, upstream.config.allow, principal?.identity);
      ctx.metrics.recordDecision(upstream.name, decision.reason);
      return decision;
    });
    const denied = decisions.find((d) => !d.allow && d.reason === 'unauthenticated') ?? decisions.find((d) => !d.allow);
    if (denied && !denied.allow) {
      if (denied.reason === 'unauthenticated') {
        return sendUnauthenticated(reply);
      }
      return reply.code(403).send({ error: 'forbidden', reason: denied.reason });
    }
    if (principal && upstreams.every((u) => u.config.auth !== 'public')) {
      const { sub, email, preferredUsername, groups } = principal.identity;
      reply.header('x-auth-request-user', sub);
      if (email !== undefined) reply.header('x-auth-request-email', email);
      if (preferredUsername !== undefined) reply.header('x-auth-request-preferred-username', preferredUsername);
      if (groups.length > 0) reply.header('x-auth-request-groups', groups.join(','));
      if (upstreams.every((u) => u.config.forwardAccessToken)) reply.header('x-auth-request-access-token', principal.accessToken);
    }
    return reply.code(allowedStatus).send();
  }

  app.get('/oauth2/auth', async (request, reply) => {
    if (!isTrusted(request.socket.remoteAddress)) return judge(request, reply, [{ host: request.headers.host, uri: '/' }], 202);
    const originals = originalsFromHeaders(request);
    if (!originals) return reply.code(400).header('cache-control', 'no-store').send({ error: 'bad-original-uri' });
    if (originals.length > 1) request.log.info('forward-auth: X-Original-URL and X-Forwarded-Uri/-Host disagree; judging both');
    return judge(request, reply, originals, 202);
  });

  app.route({
    method: [...ANY_METHOD],
    url: `${ENVOY_PREFIX}/*`,
    handler: async (request, reply) => {
      if (!isTrusted(request.socket.remoteAddress)) {
        return reply.code(403).header('cache-control', 'no-store').send({ error: 'untrusted-peer' });
      }
      const { path, query } = request.authgate;
      const uri = path.slice(ENVOY_PREFIX.length) + (query ? `?${query}` : '');
      return judge(request, reply, [{ host: request.headers.host, uri }], 200);
    },
  });
}

/**
 * What a trusted proxy says the original request was: from X-Forwarded-Uri (+ -Host), from X-Original-URL,
 * or both when both are present and disagree. A proxy that sets one header may pass a client's copy of the
 * other (ingress-nginx sets only X-Original-URL), so neither is preferred: both are judged. Undefined when
 * malformed.
 */
function originalsFromHeaders(request: FastifyRequest): OriginalRequest[] | undefined {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const forwardedUri = header('x-forwarded-uri');
  const forwardedHost = header('x-forwarded-host');
  const originalUrl = header('x-original-url');
  const fromForwarded = forwardedUri !== undefined ? { host: forwardedHost ?? request.headers.host, uri: forwardedUri } : undefined;
  let fromOriginal: OriginalRequest | undefined;
  if (originalUrl !== undefined) {
    if (originalUrl.startsWith('/')) {
      fromOriginal = { host: forwardedHost ?? request.headers.host, uri: originalUrl };
    } else {
      try {
        const url = new URL(originalUrl);
        fromOriginal = { host: url.host, uri: url.pathname + url.search };
      } catch {
        return undefined;
      }
    }
  }
  if (fromForwarded && fromOriginal) {
    const same = fromForwarded.uri === fromOriginal.uri && (fromForwarded.host ?? '').toLowerCase() === (fromOriginal.host ?? '').toLowerCase();
    return same ? [fromForwarded] : [fromForwarded, fromOriginal];
  }
  const only = fromForwarded ?? fromOriginal;
  return only ? [only] : [{ host: forwardedHost ?? request.headers.host, uri: '/' }];
}
