/**
 * The route step: one canonicalisation of the request target and the Host, one match, for routing, policy
 * and the upstream request alike. The gateway's rewriteUrl runs it for every request; tests run the very
 * same function.
 */
import { ErrorCode, GatewayError } from '../errors.js';
import { canonicalHost, type CanonicalHost } from '../url/host.js';
import { normaliseTarget } from '../url/normalise-path.js';
import { matchCanonical, upstreamPath, type CompiledUpstream } from './upstreams.js';

/** What the route step decided for one request. */
export interface RouteDecision {
  /** Why the request is refused (400) before anything else runs; undefined when it is not. */
  refusal: GatewayError | undefined;
  /** True for the gateway's own paths (/oauth2/*, /ping, /ready, /metrics): no upstream. */
  gateway: boolean;
  /** The matched upstream; undefined for gateway paths, refusals and paths no upstream serves. */
  upstream: CompiledUpstream | undefined;
  /** The canonical path in its wire form (ASCII, re-reads as itself): what logs and redirects carry. */
  path: string;
  /** The query string as received, without "?". */
  query: string;
  /** What the upstream receives as path, in wire form (its base path, stripPrefix applied); '' without upstream. */
  target: string;
}

const GATEWAY_PATHS = new Set(['/ping', '/ready', '/metrics']);
const BAD_PATH = new GatewayError(ErrorCode.badPath, 400, 'The request path is not allowed (encoded "/" or "\\", or malformed).');
const BAD_HOST = new GatewayError(ErrorCode.badRequest, 400, 'The Host header does not name a host.');

// Nearly every request of a connection, and most connections, carry the same Host: parse it once.
let lastRawHost: string | undefined;
let lastHost: CanonicalHost | null | undefined;
function hostOf(raw: string | undefined): CanonicalHost | null | undefined {
  if (raw !== lastRawHost) {
    lastHost = canonicalHost(raw);
    lastRawHost = raw;
  }
  return lastHost;
}

/**
 * Routes one request from its raw target (the request line's, latin1 text as Node gives it) and Host header:
 * refused (a path with no canonical form, a Host that cannot name a host), a gateway path, or the upstream
 * the canonical path and host match (longest prefix, host-specific first) with the path it will receive.
 */
export function routeRequest(table: readonly CompiledUpstream[], rawUrl: string, rawHost: string | undefined): RouteDecision {
  const target = normaliseTarget(rawUrl);
  if (!target) return refused(BAD_PATH, rawUrl);
  const host = hostOf(rawHost);
  if (host === null) return refused(BAD_HOST, target.wire);
  const { path, wire, query } = target;
  if (path.startsWith('/oauth2/') || GATEWAY_PATHS.has(path)) {
    return { refusal: undefined, gateway: true, upstream: undefined, path: wire, query, target: '' };
  }
  const upstream = matchCanonical(table, host, path);
  const forUpstream = upstream ? upstream.basePath + upstreamPath(upstream, wire) : '';
  return { refusal: undefined, gateway: false, upstream, path: wire, query, target: forUpstream };
}

function refused(refusal: GatewayError, path: string): RouteDecision {
  // The raw path only as far as it is printable ASCII: it goes to the access log.
  const shown = path.split('?', 1)[0]?.replace(/[^\x21-\x7e]/g, '?') ?? '';
  return { refusal, gateway: false, upstream: undefined, path: shown, query: '', target: '' };
}
