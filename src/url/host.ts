/**
 * One canonical form for host names, used wherever a Host is compared or sent on: route matching,
 * forward-auth's X-Forwarded-Host and the Host an upstream receives with `preserveHost`. DNS treats
 * `App.Example.COM.` and `app.example.com` as one name, so they must be one name here too, or a
 * host-specific route's policy could be skipped by spelling the host another way.
 */

/** A Host header in canonical form: lower case, one trailing dot removed, the port apart. */
export interface CanonicalHost {
  /** The name (or IP literal, IPv6 in brackets), lower case, without a trailing dot. */
  name: string;
  /** The port as written, without ":"; undefined when absent. */
  port: string | undefined;
  /** `name` and `:port` when there is one: what goes upstream with preserveHost. */
  value: string;
}

/** Letters, digits, "-" and "_" in dot-separated labels; no empty label. */
const HOST_NAME = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/;
const PORT = /^\d{1,5}$/;

/**
 * Parses a Host header (or X-Forwarded-Host, or a configured host) into its canonical form. Returns
 * undefined when there is no host, and null for one that cannot name a host (empty labels such as
 * `a..b`, two trailing dots, userinfo, spaces, a bad port): such a request is refused, never routed.
 */
export function canonicalHost(raw: string | undefined): CanonicalHost | null | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().toLowerCase();
  if (text === '') return null;
  let name: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    name = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    port = rest === '' ? undefined : rest.slice(1);
    if (!IPV6_LITERAL.test(name)) return null;
  } else {
    const colon = text.lastIndexOf(':');
    name = colon === -1 ? text : text.slice(0, colon);
    port = colon === -1 ? undefined : text.slice(colon + 1);
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (!HOST_NAME.test(name)) return null;
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) return null;
  return { name, port, value: port === undefined ? name : `${name}:${port}` };
}
