/**
 * How the gateway answers on its own behalf: short HTML pages for browsers, JSON for API clients.
 * Every value shown is HTML-escaped; nothing from a cause or a stack trace is ever included.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayError } from '../errors.js';

/** True for a top-level browser navigation: GET or HEAD whose Accept names text/html (`*\/*` alone does not). */
export function isBrowserNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Access denied',
  404: 'Not found',
  413: 'Request too large',
  431: 'Request headers too large',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

/** The gateway's page frame: `heading` is escaped here, `bodyHtml` must already be safe HTML. */
function renderDocument(heading: string, bodyHtml: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta name="viewport" content="width=device-width"><title>${escapeHtml(heading)}</title>` +
    '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}' +
    'h1{font-size:1.4rem}p{line-height:1.5}</style></head><body>' +
    `<h1>${escapeHtml(heading)}</h1>${bodyHtml}` +
    '<p><small>authgate</small></p></body></html>'
  );
}

/** Renders the gateway's small self-contained error page. */
export function renderPage(status: number, message: string, link?: { href: string; text: string }): string {
  const action = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : '';
  return renderDocument(`${status} ${TITLES[status] ?? 'Error'}`, `<p>${escapeHtml(message)}</p>${action}`);
}

/**
 * Renders a page that asks the user to confirm an action with one button: a same-origin POST form to
 * `action` carrying `fields` as hidden inputs. Every value is HTML-escaped.
 */
export function renderConfirmation(page: { heading: string; message: string; action: string; fields: Record<string, string>; button: string }): string {
  const hidden = Object.entries(page.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return renderDocument(
    page.heading,
    `<p>${escapeHtml(page.message)}</p><form method="post" action="${escapeHtml(page.action)}">${hidden}` +
      `<button type="submit">${escapeHtml(page.button)}</button></form>`,
  );
}

/** Answers with a GatewayError: an HTML page for browsers, `{"error": code, "message": ...}` JSON otherwise. */
export function sendGatewayError(request: FastifyRequest, reply: FastifyReply, err: GatewayError, link?: { href: string; text: string }): FastifyReply {
  reply.code(err.status).header('cache-control', 'no-store');
  if (wantsHtml(request)) {
    return reply.type('text/html; charset=utf-8').send(renderPage(err.status, err.safeMessage, link));
  }
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
