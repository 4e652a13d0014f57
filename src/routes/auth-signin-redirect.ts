/**
 * Forward-auth's opt-in sign-in redirect, for proxies that pass the check's answer to the client (Traefik
 * ForwardAuth, Envoy ext_authz, Caddy forward_auth): a signed-out browser navigation gets 302 to
 * `<publicUrl>/oauth2/start?rd=<original path>` instead of 401. Asked for with `?redirect=1` (or `true`) on
 * `/oauth2/auth`; on `/oauth2/auth/*` the query is the original request's, so there the proxy sends the
 * header `X-Authgate-Redirect: 1` instead. Everything read here comes from a peer in server.trustedProxies
 * (the callers refuse others before judging).
 */
import type { FastifyRequest } from 'fastify';
import { safeRedirectTarget } from '../session/transaction.js';
import { canonicalHost } from '../url/host.js';
import { normaliseTarget } from '../url/normalise-path.js';
import { START_PATH } from '../url/login-paths.js';

/** The header that asks `/oauth2/auth/*` (Envoy) for the redirect: its query string is not authgate's. */
export const REDIRECT_HEADER = 'x-authgate-redirect';

/** An original request as a trusted proxy reported it: its host, its target, and its scheme if named. */
export interface ReportedOriginal {
  host: string | undefined;
  /** The request target (path and query) as reported. */
  uri: string;
  /** The scheme from a full X-Original-URL (`https`), when the proxy named one that way. */
  scheme?: string;
}

/** Decides and builds forward-auth's sign-in redirect for one gateway (one publicUrl). */
export interface SignInRedirect {
  /** True when the proxy asked this check for a redirect instead of 401 (`?redirect=1` or the header). */
  requested(request: FastifyRequest, envoy: boolean): boolean;
  /** True when the original request was a browser navigation: GET or HEAD, with an Accept naming text/html. */
  isNavigation(request: FastifyRequest): boolean;
  /** The Location: sign-in at publicUrl, back to the original URL when it is on publicUrl's origin, else to "/". */
  location(request: FastifyRequest, originals: readonly ReportedOriginal[]): string;
}

/** The values that turn the redirect on; anything else (absent, `0`, `false`, a typo) leaves the 401. */
const ON = new Set(['1', 'true']);
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** The first value of a header a proxy may have sent as a list or repeated. */
function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const comma = text.indexOf(',');
  return (comma === -1 ? text : text.slice(0, comma)).trim();
}

/** Creates the redirect logic for `publicUrl` (its origin is computed once, here). */
export function createSignInRedirect(publicUrl: string): SignInRedirect {
  const base = new URL(publicUrl);
  const publicScheme = base.protocol.slice(0, -1);
  const publicHost = base.hostname.toLowerCase();
  const publicPort = base.port || DEFAULT_PORT[publicScheme];
  const startUrl = `${base.origin}${START_PATH}?rd=`;

  /** True when the original was on publicUrl's origin: same host and port, and same scheme when one is known. */
  function sameOrigin(request: FastifyRequest, original: ReportedOriginal): boolean {
    const forwardedProto = firstValue(request.headers['x-forwarded-proto']);
    // No scheme named (Envoy sends none by default): the host decides; rd only ever carries a path.
    const scheme = (original.scheme ?? (forwardedProto || publicScheme)).toLowerCase();
    if (scheme !== publicScheme) return false;
    const host = canonicalHost(original.host);
    if (!host) return false;
    return host.name === publicHost && (host.port ?? DEFAULT_PORT[scheme]) === publicPort;
  }

  return {
    requested(request, envoy) {
      const value = envoy ? request.headers[REDIRECT_HEADER] : (request.query as Record<string, unknown>).redirect;
      return typeof value === 'string' && ON.has(value);
    },
    isNavigation(request) {
      const method = firstValue(request.headers['x-forwarded-method'])?.toUpperCase() ?? request.method;
      if (method !== 'GET' && method !== 'HEAD') return false;
      const accept = request.headers.accept;
      return typeof accept === 'string' && accept.includes('text/html');
    },
    location(request, originals) {
      // Two originals that disagree: one of them may be the client's; neither is worth returning to.
      const original = originals.length === 1 ? originals[0] : undefined;
      // Normalised again here, not kept from judging, so allowed checks (the common case) allocate nothing more.
      const target = original && sameOrigin(request, original) ? normaliseTarget(original.uri) : null;
      const rd = target ? safeRedirectTarget(target.query ? `${target.wire}?${target.query}` : target.wire, publicUrl) : '/';
      return startUrl + encodeURIComponent(rd);
    },
  };
}
