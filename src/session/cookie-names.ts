/**
 * The names and attributes of the gateway's own cookies, derived once from configuration. Every cookie
 * whose name this module claims is removed from the Cookie header before a request goes upstream.
 */

/** Names and attributes of the gateway's cookies. */
export interface CookieNames {
  /** The session cookie (chunks add `_1`, `_2`, …). */
  session: string;
  /** Prefix of the per-login transaction cookies. */
  transactionPrefix: string;
  /** Secure attribute and `__Host-`/`__Secure-` prefixes: when publicUrl is https. */
  secure: boolean;
  /** True when the name belongs to the gateway. */
  isGatewayCookie(name: string): boolean;
  /** A string every one of the gateway's cookie names contains (a header without it has none of them). */
  marker: string;
  /**
   * True when a Set-Cookie header (from an upstream) would plant a cookie the gateway reads or could come to
   * read: its name in any case, with whitespace, with or without a `__Host-`/`__Secure-` prefix, or a nameless
   * cookie whose value a browser sends as `authgate=…` or `authgate`.
   */
  setsGatewayCookie(setCookie: string): boolean;
}

/** Derives the cookie names: `__Host-authgate` on https, `authgate` on http, unless configured. */
export function buildCookieNames(publicUrl: string, configured?: string): CookieNames {
  const secure = new URL(publicUrl).protocol === 'https:';
  const session = configured ?? (secure ? '__Host-authgate' : 'authgate');
  const base = session.replace(/^__(Host|Secure)-/, '');
  const transactionPrefix = `${secure ? '__Host-' : ''}${base}_tx_`;
  const chunkPrefix = `${session}_`;
  return {
    session,
    transactionPrefix,
    secure,
    marker: base,
    setsGatewayCookie: gatewayCookieSetter(base),
    isGatewayCookie: (name) => name === session || name.startsWith(chunkPrefix) || name.startsWith(transactionPrefix),
  };
}

/** Cookie name prefixes browsers give meaning to; compared case-insensitively, as RFC 6265bis does. */
const NAME_PREFIXES = ['__host-', '__secure-'];

/**
 * The test behind `setsGatewayCookie`: every name in the gateway's namespace (the base name, and anything
 * starting `base_`: chunks and login transactions), however an upstream spells it.
 */
function gatewayCookieSetter(base: string): (setCookie: string) => boolean {
  const lower = base.toLowerCase();
  const lowerPrefix = `${lower}_`;
  const claimed = (name: string) => {
    let canonical = name.trim().toLowerCase();
    for (const prefix of NAME_PREFIXES) if (canonical.startsWith(prefix)) canonical = canonical.slice(prefix.length).trimStart();
    return canonical === lower || canonical.startsWith(lowerPrefix);
  };
  return (setCookie) => {
    const semicolon = setCookie.indexOf(';');
    const pair = semicolon === -1 ? setCookie : setCookie.slice(0, semicolon);
    const eq = pair.indexOf('=');
    // No "=": a nameless cookie whose value is the whole pair (RFC 6265bis); the browser sends it bare.
    if (eq === -1) return claimed(pair);
    const name = pair.slice(0, eq);
    if (name.trim() !== '') return claimed(name);
    // "=authgate=x": nameless, sent as "authgate=x", which a Cookie parser reads as the cookie "authgate".
    const value = pair.slice(eq + 1);
    const inner = value.indexOf('=');
    return claimed(inner === -1 ? value : value.slice(0, inner));
  };
}

/** The gateway's cookies of a request without any. */
export const NO_COOKIES: ReadonlyMap<string, string> = new Map();

/**
 * Splits a Cookie header into the gateway's cookies (first value wins) and the rest, kept verbatim; undefined
 * when the header holds none of the gateway's (then it goes upstream as it is). Scanned in place: the
 * header is read on every request.
 */
export function splitCookieHeader(header: string, names: CookieNames): { gateway: Map<string, string>; others: string } | undefined {
  if (!header.includes(names.marker)) return undefined;
  const gateway = new Map<string, string>();
  let others = '';
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const pair = header.slice(start, end).trim();
    start = end + 1;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq).trim();
    if (names.isGatewayCookie(name)) {
      if (!gateway.has(name)) gateway.set(name, eq === -1 ? '' : pair.slice(eq + 1).trim());
    } else {
      others = others === '' ? pair : `${others}; ${pair}`;
    }
  }
  return gateway.size === 0 ? undefined : { gateway, others };
}
