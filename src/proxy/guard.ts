/**
 * The guard in front of every upstream: (WebSocket checks) → principal (session or bearer) → policy →
 * 302 / 401 / 403 / continue. It runs as the async preHandler of the upstream routes, after the route step
 * chose the upstream, for plain requests and WebSocket upgrades alike.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import type { BeginLogin } from '../http/begin-login.js';
import { isBrowserNavigation, sendGatewayError, sendUnauthenticated } from '../http/replies.js';
import type { Metrics } from '../observability/metrics.js';
import { sendStepUpChallenge } from '../http/step-up-reply.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { stepUpRuleOf } from '../policy/step-up.js';
import { safeRedirectTarget } from '../session/transaction.js';
import { acceptedBy, NO_PRINCIPAL, type ResolvePrincipal } from './principal.js';
import type { StepUpGate } from './step-up-gate.js';
import type { UpstreamTokens } from './upstream-tokens.js';
import type { CompiledUpstream } from './upstreams.js';

/** What the guard needs. */
export interface GuardDeps {
  publicUrl: string;
  metrics: Metrics;
  resolvePrincipal: ResolvePrincipal;
  beginLogin: BeginLogin;
  stepUp: StepUpGate;
  /** Upstreams' own tokens (`accessToken` resource, audience, scopes). */
  upstreamTokens: UpstreamTokens;
}

/** The preHandler: resolves once the request may go on; a reply it sent (redirect, 401, 403, 404) is returned. */
export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

const NOT_FOUND = new GatewayError(ErrorCode.notFound, 404, 'No application is configured for this address.');

/**
 * Creates the preHandler shared by every upstream route. A reply sent here is returned, so fastify waits
 * for it and skips the handler; a 503 GatewayError from the session (expired token, provider down) goes to
 * the error handler.
 */
export function createGuard(deps: GuardDeps): Guard {
  const { publicUrl, metrics, resolvePrincipal, beginLogin, stepUp, upstreamTokens } = deps;
  const publicOrigin = new URL(publicUrl).origin;

  return async function guard(request, reply) {
    const upstream = request.authgate.upstream;
    if (!upstream) return sendGatewayError(request, reply, NOT_FOUND);
    if (isWebSocketUpgrade(request)) {
      const refusal = checkUpgrade(request, upstream, publicOrigin);
      if (refusal) {
        request.log.info({ upstream: upstream.name, reason: refusal }, 'websocket upgrade refused');
        return reply.code(403).send({ error: refusal });
      }
    }
    const { auth, allow, skipAuthPreflight } = upstream.config;
    if (skipAuthPreflight && isCorsPreflight(request)) {
      // Browsers send preflights without cookies: the app answers CORS itself, and learns no identity.
      metrics.recordDecision(upstream.name, 'preflight');
      return undefined;
    }
    const resolved = auth === 'public' ? NO_PRINCIPAL : await resolvePrincipal(request);
    if (!resolved.principal && resolved.invalidBearer) {
      metrics.recordDecision(upstream.name, 'invalid-token');
      return sendUnauthenticated(reply, 'invalid_token');
    }
    const principal = acceptedBy(upstream, resolved.principal);
    const decision = evaluatePolicy(auth, allow, principal?.identity);
    // Step-up is judged only for a principal the policy admits: a stronger login would not change a "no".
    const unmet = decision.allow && principal !== undefined ? stepUp.unmet(allow, principal) : undefined;
    metrics.recordDecision(upstream.name, unmet === undefined ? decision.reason : 'step-up');
    if (decision.allow && unmet === undefined) {
      request.authgate.principal = principal;
      // An upstream with a token of its own (accessToken resource, audience, scopes); the others pay one check.
      const ask = upstream.tokenAsk;
      return ask === undefined || principal === undefined ? undefined : upstreamTokens.attach(request, reply, upstream, ask);
    }
    if (unmet !== undefined) {
      request.log.info({ upstream: upstream.name, reason: 'step-up', sub: principal?.identity.sub }, 'step-up required');
      const session = request.authgate.session?.session;
      // A browser with a session goes back to its provider and returns here upgraded; anyone else is told how (RFC 9470).
      if (principal?.source === 'session' && session && canFollowLogin(request)) {
        return beginLogin(request, reply, backHere(request, publicUrl), [principal.provider], stepUp.upgradeAsk(unmet, session));
      }
      return sendStepUpChallenge(reply, unmet);
    }

    request.log.info({ upstream: upstream.name, reason: decision.reason, sub: principal?.identity.sub }, 'access denied');
    if (decision.reason === 'unauthenticated') {
      if (canFollowLogin(request)) {
        // A route with step-up asks for it at this very login: one trip to the provider, not two.
        return beginLogin(request, reply, backHere(request, publicUrl), upstream.config.providers, stepUpRuleOf(allow)?.ask);
      }
      return sendUnauthenticated(reply);
    }
    // The page offers signing in again (the target kept) or as someone else (pages/error-view.ts).
    return sendGatewayError(
      request,
      reply,
      new GatewayError(ErrorCode.forbidden, 403, `You are signed in, but not allowed to use this application (${decision.reason}).`),
    );
  };
}

/** True for a CORS preflight (Fetch standard): OPTIONS with Origin and Access-Control-Request-Method. */
export function isCorsPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
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

/** A browser navigation, which can follow a login; a WebSocket client cannot (a transaction per reconnect would pile up). */
function canFollowLogin(request: FastifyRequest): boolean {
  return isBrowserNavigation(request) && !isWebSocketUpgrade(request);
}

/** Where a login started here returns: this request's path and query, as a safe same-origin target. */
function backHere(request: FastifyRequest, publicUrl: string): string {
  const { path, query } = request.authgate;
  return safeRedirectTarget(query ? `${path}?${query}` : path, publicUrl);
}
