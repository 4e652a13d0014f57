/**
 * The guard in front of every upstream: session → policy → 302 / 401 / 403 / continue. It runs as the
 * preHandler of the upstream's proxy route, after the route step chose the upstream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { isBrowserNavigation, sendGatewayError } from '../http/replies.js';
import { beginLogin } from '../oidc/begin-login.js';
import { safeRedirectTarget } from '../oidc/transaction.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { loadActiveSession } from '../session/access.js';

/** Creates the preHandler shared by every upstream route. */
export function createGuard(ctx: GatewayContext) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const upstream = request.authgate.upstream;
    if (!upstream) return sendGatewayError(request, reply, new GatewayError(ErrorCode.notFound, 404, 'No application is configured for this address.'));
    const { auth, allow } = upstream.config;
    const session = auth === 'public' ? null : await loadActiveSession(ctx, request, reply);
    const decision = evaluatePolicy(auth, allow, session?.identity);
    ctx.metrics.policyDecisions.inc({ upstream: upstream.name, reason: decision.reason });
    if (decision.allow) return undefined;

    request.log.info({ upstream: upstream.name, reason: decision.reason, sub: session?.identity.sub }, 'access denied');
    if (decision.reason === 'unauthenticated') {
      if (isBrowserNavigation(request)) {
        const { path, query } = request.authgate;
        return beginLogin(ctx, request, reply, safeRedirectTarget(query ? `${path}?${query}` : path, ctx.config.server.publicUrl));
      }
      return reply
        .code(401)
        .header('www-authenticate', `Bearer realm="authgate"`)
        .header('cache-control', 'no-store')
        .send({ error: 'unauthenticated' });
    }
    return sendGatewayError(
      request,
      reply,
      new GatewayError(ErrorCode.forbidden, 403, `You are signed in, but not allowed to use this application (${decision.reason}).`),
      { href: '/oauth2/sign_out', text: 'Sign in as someone else' },
    );
  };
}
