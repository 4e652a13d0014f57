/**
 * GET /oauth2/auth: forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz. It judges
 * the original request (X-Forwarded-Uri + X-Forwarded-Host, or X-Original-URL, believed only from trusted
 * proxies) against the matching upstream's policy: 202 with X-Auth-Request-* headers, 401, or 403.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { compileTrustedProxies } from '../http/trusted-proxies.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { normaliseTarget } from '../proxy/normalise-path.js';
import { matchUpstream } from '../proxy/upstreams.js';

/** Registers /oauth2/auth. */
export function registerForwardAuth(app: FastifyInstance, ctx: GatewayContext): void {
  const isTrusted = compileTrustedProxies(ctx.config.server.trustedProxies);

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const original = isTrusted(request.socket.remoteAddress) ? originalRequest(request) : { host: request.headers.host, uri: '/' };
    const target = original ? normaliseTarget(original.uri) : null;
    if (!original || !target) return reply.code(400).send({ error: 'bad-original-uri' });
    const upstream = matchUpstream(ctx.upstreams, original.host, target.path);
    if (!upstream) return reply.code(403).send({ error: 'no-route' });

    const { auth, allow, forwardAccessToken } = upstream.config;
    const resolved = auth === 'public' ? { principal: undefined, invalidBearer: false } : await ctx.resolvePrincipal(request, reply);
    if (!resolved.principal && resolved.invalidBearer) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="authgate", error="invalid_token"').send({ error: 'invalid_token' });
    }
    const principal = resolved.principal;
    const decision = evaluatePolicy(auth, allow, principal?.identity);
    ctx.metrics.policyDecisions.inc({ upstream: upstream.name, reason: decision.reason });
    if (!decision.allow) {
      if (decision.reason === 'unauthenticated') {
        return reply.code(401).header('www-authenticate', 'Bearer realm="authgate"').send({ error: 'unauthenticated' });
      }
      return reply.code(403).send({ error: 'forbidden', reason: decision.reason });
    }
    if (principal && auth !== 'public') {
      const { sub, email, preferredUsername, groups } = principal.identity;
      reply.header('x-auth-request-user', sub);
      if (email !== undefined) reply.header('x-auth-request-email', email);
      if (preferredUsername !== undefined) reply.header('x-auth-request-preferred-username', preferredUsername);
      if (groups.length > 0) reply.header('x-auth-request-groups', groups.join(','));
      if (forwardAccessToken) reply.header('x-auth-request-access-token', principal.accessToken);
    }
    return reply.code(202).send();
  };
  app.get('/oauth2/auth', handler);
}

/** The original host and request target as a trusted proxy reports them; undefined when malformed. */
function originalRequest(request: FastifyRequest): { host: string | undefined; uri: string } | undefined {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const originalUrl = header('x-original-url');
  if (originalUrl !== undefined && !header('x-forwarded-uri')) {
    if (originalUrl.startsWith('/')) return { host: header('x-forwarded-host') ?? request.headers.host, uri: originalUrl };
    try {
      const url = new URL(originalUrl);
      return { host: url.host, uri: url.pathname + url.search };
    } catch {
      return undefined;
    }
  }
  return { host: header('x-forwarded-host') ?? request.headers.host, uri: header('x-forwarded-uri') ?? '/' };
}
