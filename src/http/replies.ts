/**
 * How the gateway answers on its own behalf: pages for browsers (src/pages/, every value HTML-escaped),
 * JSON for API clients. Nothing from a cause or a stack trace is ever included.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayError } from '../errors.js';
import type { ErrorPageHints } from '../pages/error-view.js';
import type { Pages } from '../pages/load-pages.js';
import { renderError } from '../pages/render.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's page templates, for answers sent from deep in the road (decorated in app.ts). */
    authgatePages: Pages;
  }
}

/** True for a top-level browser navigation: GET or HEAD whose Accept names text/html (`*\/*` alone does not). */
export function isBrowserNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * Sends one of the gateway's own pages. Every page carries a button (sign in, sign out, try again), so none
 * may be framed by another site (clickjacking) or kept by a cache.
 */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "frame-ancestors 'none'")
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(html);
}

/**
 * Answers with a GatewayError: the error page for browsers (`hints` add the original target and the
 * provider's words), `{"error": code, "message": ...}` JSON otherwise.
 */
export function sendGatewayError(request: FastifyRequest, reply: FastifyReply, err: GatewayError, hints?: ErrorPageHints): FastifyReply {
  if (wantsHtml(request)) return sendPage(reply, err.status, renderError(request.server.authgatePages, request, err, hints));
  reply.code(err.status).header('cache-control', 'no-store');
  return reply.type('application/json; charset=utf-8').send({ error: err.code, message: err.safeMessage });
}

/** Browsers get pages even for non-GET requests (a form POST), so this looks at Accept only. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * The 401 for requests without a usable principal (RFC 6750): `unauthenticated` when nothing was presented,
 * `invalid_token` when a bearer token was refused. One place, so the guard, forward-auth and userinfo agree.
 */
export function sendUnauthenticated(reply: FastifyReply, error: 'unauthenticated' | 'invalid_token' = 'unauthenticated'): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', error === 'invalid_token' ? 'Bearer realm="authgate", error="invalid_token"' : 'Bearer realm="authgate"')
    .header('cache-control', 'no-store')
    .send({ error });
}
