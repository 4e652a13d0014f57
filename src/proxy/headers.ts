/**
 * Identity and forwarding headers: what is stripped from every inbound request, and what the gateway adds
 * for an upstream. The injector for each upstream is built once at start-up from its configuration.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { UpstreamConfig } from '../config/schema.js';
import { userOf } from '../identity.js';
import { dpopProof } from '../oidc/dpop-proof.js';
import { canonicalHost } from '../url/host.js';
import { encodeHeaderList, encodeHeaderValue } from './header-value.js';
import { canonicalPrefix, wirePath } from '../url/normalise-path.js';

/** Identity headers only the gateway may set; inbound copies are removed whatever their case or underscores. */
const SPOOFABLE = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-forwarded-provider',
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

/** Rewrites the headers the forward step is about to send upstream. */
export type HeaderInjector = (request: FastifyRequest, headers: Record<string, string | string[] | undefined>) => Record<string, string | string[] | undefined>;

/**
 * Forwarding and original-URL headers that apps and frameworks believe (client address, scheme, host, port,
 * path): the gateway sets the first group itself and removes every client copy of the rest, whatever their
 * case or underscores. Only the injector's output is cleaned: forward-auth still reads X-Forwarded-Uri and
 * X-Original-URL from its trusted peer on the inbound request.
 */
const FORWARDING = new Set([
  // set by the gateway
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'forwarded',
  // never forwarded
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-server',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-url-scheme',
  'front-end-https',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-cluster-client-ip',
  'client-ip',
  'x-host',
]);

/**
 * Hop-by-hop request headers (RFC 9110 7.6.1) besides Connection (removed before the injector runs). Expect: the gateway has already
 * answered the client's 100-continue itself, and undici refuses to send an `expect` header (a 502 for every
 * upload curl makes over 1 MB); undici refuses Upgrade and Keep-Alive too.
 */
const HOP_BY_HOP = new Set(['expect', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** True for an inbound header name the injector never forwards as the client sent it. */
function isReplacedHeader(name: string): boolean {
  // DPoP: a proof is the gateway's to make for its own token; a client's never goes upstream.
  if (FORWARDING.has(name) || HOP_BY_HOP.has(name) || name === 'dpop') return true;
  // Node lower-cases names; only a name with "_" needs the slower canonical form (a proxy may map it to "-").
  if (name.includes('_')) {
    const canonical = name.replaceAll('_', '-');
    return FORWARDING.has(canonical) || isSpoofableIdentityHeader(canonical);
  }
  return false;
}

/** A Forwarded parameter value: a token as it is, anything else (":" of a port, IPv6 brackets) quoted. */
const FORWARDED_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const forwardedValue = (value: string) => (FORWARDED_TOKEN.test(value) ? value : `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);

/** A Forwarded `for=` node: IPv4 as a token, IPv6 in brackets and quotes (RFC 7239 6). */
const forwardedFor = (address: string) => (address.includes(':') ? `"[${address}]"` : address);

/**
 * Builds one upstream's injector (the gateway's cookies are already gone, in onRequest). It makes one pass
 * over the headers, removing client copies of forwarding and original-URL headers and hop-by-hop ones, then
 * sets X-Forwarded-For/Proto/Host/Port/Prefix, X-Real-IP and Forwarded from what the gateway itself knows
 * (addresses only through server.trustedProxies, as fastify's request.ip/ips give them), identity headers
 * percent-encoded where needed (not for public routes), the bearer token unless `forwardAccessToken: false`,
 * and the client's Host only with `preserveHost`.
 */
export function buildHeaderInjector(upstream: UpstreamConfig, publicUrl: string): HeaderInjector {
  const publicOrigin = new URL(publicUrl);
  const proto = publicOrigin.protocol.slice(0, -1);
  const host = publicOrigin.host;
  const port = publicOrigin.port || (proto === 'https' ? '443' : '80');
  // The first Forwarded element describes the client's request (frameworks such as Spring read host and
  // proto from it); the public scheme and host are what that client used.
  const forwardedOrigin = `;proto=${proto};host=${forwardedValue(host)}`;
  // The route's prefix in the one wire form its requests' paths reach the upstream in.
  const prefix = canonicalPrefix(upstream.path) ?? '/';
  const forwardedPrefix = upstream.stripPrefix && prefix !== '/' ? wirePath(prefix) : undefined;
  const sendsIdentity = upstream.auth !== 'public';
  const sendsToken = sendsIdentity && upstream.forwardAccessToken;
  // accessToken.header: Authorization carries "Bearer <token>"; another header the raw token, and no client
  // copy of it (in any case, "_" for "-") ever reaches this upstream, signed in or not.
  const tokenHeader = upstream.accessToken.header.toLowerCase();
  const bearer = tokenHeader === 'authorization';
  // Compared in the "-" spelling on both sides: a name configured with "_" is the same header to a proxy too.
  const ownTokenHeader = bearer ? undefined : tokenHeader.replaceAll('_', '-');
  // A DPoP proof's htu: the upstream's origin and the path it receives (after stripPrefix), no query.
  const htuOrigin = upstream.url === undefined ? '' : new URL(upstream.url).origin;

  return (request, headers) => {
    if (upstream.preserveHost && request.headers.host) headers.host = canonicalHost(request.headers.host)?.value ?? headers.host;
    // for…in, not Object.keys: no array per request. Assigned undefined, not deleted (undici skips it).
    for (const name in headers) {
      if (isReplacedHeader(name) || (ownTokenHeader !== undefined && name.length === ownTokenHeader.length && name.replaceAll('_', '-') === ownTokenHeader)) {
        headers[name] = undefined;
      }
    }

    // From the rightmost untrusted address on (fastify's request.ips); a trusted proxy's junk entries dropped.
    const ips = request.ips;
    if (ips && ips.length > 1) {
      let xff = '';
      let forwarded = '';
      for (let i = ips.length - 1; i >= 0; i--) {
        const ip = ips[i];
        if (isIP(ip) === 0) continue;
        if (xff === '') {
          xff = ip;
          forwarded = `for=${forwardedFor(ip)}${forwardedOrigin}`;
        } else {
          xff += `, ${ip}`;
          forwarded += `, for=${forwardedFor(ip)}`;
        }
      }
      headers['x-forwarded-for'] = xff;
      headers.forwarded = forwarded;
    } else {
      // A socket closed before this point has no address left: then no address is claimed at all.
      const ip = request.ip as string | undefined;
      headers['x-forwarded-for'] = ip;
      headers.forwarded = ip === undefined ? undefined : `for=${forwardedFor(ip)}${forwardedOrigin}`;
    }
    headers['x-real-ip'] = request.ip;
    // The id in the gateway's log line for this request (a trusted proxy's own, or a new one): never the client's.
    headers['x-request-id'] = request.id;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-port'] = port;
    if (forwardedPrefix !== undefined) headers['x-forwarded-prefix'] = forwardedPrefix;

    const principal = sendsIdentity ? request.authgate.principal : undefined;
    if (principal) {
      const { email, preferredUsername, groups } = principal.identity;
      // Percent-encoded where needed: a "," inside a group is not a second group, and a name outside Latin-1
      // (Cyrillic, CJK) no longer makes Node refuse to send the request.
      headers['x-forwarded-user'] = encodeHeaderValue(userOf(principal.identity));
      headers['x-forwarded-provider'] = principal.provider; // an id of [a-z0-9-]: nothing to encode
      if (email !== undefined) headers['x-forwarded-email'] = encodeHeaderValue(email);
      if (preferredUsername !== undefined) headers['x-forwarded-preferred-username'] = encodeHeaderValue(preferredUsername);
      if (groups.length > 0) headers['x-forwarded-groups'] = encodeHeaderList(groups);
      const dpop = sendsToken ? principal.dpop : undefined;
      if (dpop !== undefined) {
        headers[tokenHeader] = bearer ? `DPoP ${principal.accessToken}` : principal.accessToken;
        headers.dpop = dpopProof(dpop.key, request.method, htuOrigin + request.authgate.upstreamPath, dpop.ath, Math.floor(Date.now() / 1000));
      } else if (sendsToken) headers[tokenHeader] = bearer ? `Bearer ${principal.accessToken}` : principal.accessToken;
    }
    return headers;
  };
}
