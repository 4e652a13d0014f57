/**
 * The upstream's answer cleaned of what is not the client's business: hop-by-hop headers, Set-Cookies that
 * would plant one of the gateway's cookies, and characters a header may not carry.
 */
import type { CookieNames } from '../session/cookie-names.js';

/** Headers as undici hands them over (lower-case names; repeated ones as arrays). */
export type Headers = Record<string, string | string[] | undefined>;

/** Characters a header value may not carry (Node would refuse to send the response). */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7E\x80-\xFF]/;
const INVALID_HEADER_VALUE_ALL = /[^\t\x20-\x7E\x80-\xFF]/g;
const clean = (value: string) => (INVALID_HEADER_VALUE.test(value) ? value.replace(INVALID_HEADER_VALUE_ALL, '') : value);

/**
 * Hop-by-hop headers (RFC 9110 7.6.1): the upstream's terms for its connection with the gateway, never the
 * client's. Its Connection: keep-alive would otherwise override a client's Connection: close. Transfer-Encoding
 * is safe to drop: undici decodes the chunks and Node frames the body anew.
 * Upgrade is dropped always: this path never relays a 101 (WebSocket upgrades go through the ws proxy).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The upstream's response headers as the client gets them: without hop-by-hop headers (and those its
 * Connection header names), without a Set-Cookie that would plant one of the gateway's cookies (another user's
 * session, a login transaction), and with characters a header may not carry removed rather than failing the
 * response. Location and everything else pass unchanged.
 */
export function responseHeadersForClient(headers: Headers, cookieNames: CookieNames): Headers {
  const out: Headers = {};
  const connection = headers.connection;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue;
    const value = headers[name];
    if (name === 'set-cookie') {
      const kept = keptCookies(value, cookieNames);
      if (kept !== undefined) out[name] = kept;
      continue;
    }
    out[name] = typeof value === 'string' ? clean(value) : Array.isArray(value) ? value.map(clean) : value;
  }
  // delete, not undefined: fastify would send an undefined header as an empty one.
  // Most upstreams say just "keep-alive" (or "close"): nothing listed, no split.
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
    for (const listed of connectionTokens(connection)) delete out[listed];
  }
  return out;
}

/** The Set-Cookie values that do not touch the gateway's cookies, cleaned; undefined when none is left. */
function keptCookies(value: string | string[] | undefined, cookieNames: CookieNames): string | string[] | undefined {
  if (typeof value === 'string') return cookieNames.setsGatewayCookie(value) ? undefined : clean(value);
  if (!Array.isArray(value)) return undefined;
  const kept: string[] = [];
  for (const cookie of value) if (!cookieNames.setsGatewayCookie(cookie)) kept.push(clean(cookie));
  return kept.length === 0 ? undefined : kept;
}

/** The header names a Connection header lists (lower-cased, without close and keep-alive), which are hop-by-hop too. */
export function connectionTokens(connection: string | string[]): string[] {
  const tokens: string[] = [];
  for (const part of Array.isArray(connection) ? connection : [connection]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive') tokens.push(name);
    }
  }
  return tokens;
}
