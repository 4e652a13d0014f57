/**
 * The guard in front of every upstream: (WebSocket checks) → principal (session or bearer) → policy →
 * 302 / 401 / 403 / continue. It runs as the preHandler of the upstream's proxy route, after the route step
 * chose the upstream, for plain requests and WebSocket upgrades alike.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { isBrowserNavigation, sendGatewayError, sendUnauthenticated } from '../http/replies.js';
import { beginLogin } from '../oidc/begin-login.js';
import { safeRedirectTarget } from '../oidc/transaction.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { NO_PRINCIPAL, type PrincipalResult } from './principal.js';
import type { CompiledUpstream } from './upstreams.js';

/** A preHandler's continuation: no argument to go on to the upstream, an error for the error handler. */
type Done = (err?: Error) => void;

/**
 * Creates the preHandler shared by every upstream route. Callback-style, so that a request whose session
 * the cookie store opened synchronously goes on to its upstream without a promise in between; when the
 * principal needs I/O (Redis, a refresh, a bearer token) the decision waits for it. A reply sent here
 * (redirect, 401, 403) ends the request without `done`.
 */
export function createGuard(ctx: GatewayContext) {
  const publicOrigin = new URL(ctx.config.server.publicUrl).origin;

  function decide(request: FastifyRequest, reply: FastifyReply, resolved: PrincipalResult, done: Done): void {
    const upstream = request.authgate.upstream as CompiledUpstream;
    const { auth, allow } = upstream.config;
    if (!resolved.principal && resolved.invalidBearer) {
      ctx.metrics.recordDecision(upstream.name, 'invalid-token');
      sendUnauthenticated(reply, 'invalid_token');
      return;
    }
    const decision = evaluatePolicy(auth, allow, resolved.principal?.identity);
    ctx.metrics.recordDecision(upstream.name, decision.reason);
    if (decision.allow) {
      request.authgate.principal = resolved.principal;
      done();
      return;
    }

    request.log.info({ upstream: upstream.name, reason: decision.reason, sub: resolved.principal?.identity.sub }, 'access denied');
    if (decision.reason === 'unauthenticated') {
      // A WebSocket client cannot follow a redirect; a login transaction per reconnect would pile up.
      if (isBrowserNavigation(request) && !isWebSocketUpgrade(request)) {
        const { path, query } = request.authgate;
        beginLogin(ctx, request, reply, safeRedirectTarget(query ? `${path}?${query}` : path, ctx.config.server.publicUrl)).catch(done);
        return;
      }
      sendUnauthenticated(reply);
      return;
    }
    sendGatewayError(
      request,
      reply,
      new GatewayError(ErrorCode.forbidden, 403, `You are signed in, but not allowed to use this application (${decision.reason}).`),
      { href: '/oauth2/sign_out', text: 'Sign in as someone else' },
    );
  }

  return function guard(request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const upstream = request.authgate.upstream;
    if (!upstream) {
      sendGatewayError(request, reply, new GatewayError(ErrorCode.notFound, 404, 'No application is configured for this address.'));
      return;
    }
    if (isWebSocketUpgrade(request)) {
      const refusal = checkUpgrade(request, upstream, publicOrigin);
      if (refusal) {
        request.log.info({ upstream: upstream.name, reason: refusal }, 'websocket upgrade refused');
        reply.code(403).send({ error: refusal });
        return;
      }
    }
    let resolved: ReturnType<GatewayContext['resolvePrincipal']>;
    try {
      resolved = upstream.config.auth === 'public' ? NO_PRINCIPAL : ctx.resolvePrincipal(request, reply);
    } catch (err) {
      done(err as Error); // a 503 GatewayError from the session (expired token, provider down), say
      return;
    }
    if (!(resolved instanceof Promise)) {
      decide(request, reply, resolved, done); // fastify's hook runner catches what this throws
      return;
    }
    resolved.then((r) => {
      try {
        decide(request, reply, r, done);
      } catch (err) {
        done(err as Error);
      }
    }, done);
  };
}

/** True for an HTTP/1.1 WebSocket upgrade request. */
export function isWebSocketUpgrade(request: FastifyRequest): boolean {
  const upgrade = request.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/**
 * Why an upgrade is refused before any authentication: WebSockets off for this upstream, or a browser's
 * Origin that is neither publicUrl's nor in `allowedOrigins` (cross-site WebSocket hijacking: a browser sends
 * the session cookie with cross-site upgrades). An upgrade without Origin is not from a browser and is
 * judged by its session or bearer alone.
 */
function checkUpgrade(request: FastifyRequest, upstream: CompiledUpstream, publicOrigin: string): string | undefined {
  if (!upstream.config.websocket) return 'websocket-disabled';
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  let normalised: string;
  try {
    normalised = new URL(origin).origin;
  } catch {
    return 'origin-not-allowed';
  }
  return normalised === publicOrigin || upstream.config.allowedOrigins.includes(normalised) ? undefined : 'origin-not-allowed';
}
