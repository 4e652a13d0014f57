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
    isGatewayCookie: (name) => name === session || name.startsWith(chunkPrefix) || name.startsWith(transactionPrefix),
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
