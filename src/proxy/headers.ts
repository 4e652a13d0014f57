/**
 * Identity headers: what is stripped from every inbound request, and what the gateway adds for an
 * upstream. The injector for each upstream is built once at start-up from its configuration.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { UpstreamConfig } from '../config/schema.js';
import { canonicalHost } from '../http/host.js';
import '../http/request-state.js';

/** Identity headers only the gateway may set; inbound copies are removed whatever their case or underscores. */
const SPOOFABLE = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
]);
const SPOOFABLE_PREFIX = 'x-auth-request-';

/** True for a header name a client must not be able to send upstream. */
export function isSpoofableIdentityHeader(name: string): boolean {
  const canonical = name.toLowerCase().replaceAll('_', '-');
  return SPOOFABLE.has(canonical) || canonical.startsWith(SPOOFABLE_PREFIX);
}

/** Removes every spoofable identity header from an inbound request's headers (Node lower-cases names). */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  // for…in, not Object.keys: no array per request.
  for (const name in headers) {
    if ((name.charCodeAt(0) | 0x20) === 0x78 /* x or X */ && isSpoofableIdentityHeader(name)) delete headers[name];
  }
}

/** Rewrites the headers reply-from is about to send upstream. */
export type HeaderInjector = (request: FastifyRequest, headers: Record<string, string | string[] | undefined>) => Record<string, string | string[] | undefined>;

/**
 * Builds one upstream's injector (the gateway's cookies are already gone, in onRequest): X-Forwarded-For/Proto/Host
 * from what the gateway itself knows, identity headers (not for public routes), the bearer token unless
 * `forwardAccessToken: false`, and the client's Host only with `preserveHost`.
 */
export function buildHeaderInjector(upstream: UpstreamConfig, publicUrl: string): HeaderInjector {
  const publicOrigin = new URL(publicUrl);
  const proto = publicOrigin.protocol.slice(0, -1);
  const sendsIdentity = upstream.auth !== 'public';
  const sendsToken = sendsIdentity && upstream.forwardAccessToken;

  return (request, headers) => {
    if (upstream.preserveHost && request.headers.host) headers.host = canonicalHost(request.headers.host)?.value ?? headers.host;
    // From the rightmost untrusted address on (fastify's request.ips); a trusted proxy's junk entries dropped.
    headers['x-forwarded-for'] = request.ips && request.ips.length > 1 ? request.ips.filter((ip) => isIP(ip) !== 0).reverse().join(', ') : request.ip;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-host'] = publicOrigin.host;

    const principal = sendsIdentity ? request.authgate.principal : undefined;
    if (principal) {
      const { sub, email, preferredUsername, groups } = principal.identity;
      headers['x-forwarded-user'] = sub;
      if (email !== undefined) headers['x-forwarded-email'] = email;
      if (preferredUsername !== undefined) headers['x-forwarded-preferred-username'] = preferredUsername;
      if (groups.length > 0) headers['x-forwarded-groups'] = groups.join(',');
      if (sendsToken) headers.authorization = `Bearer ${principal.accessToken}`;
    }
    return headers;
  };
}
