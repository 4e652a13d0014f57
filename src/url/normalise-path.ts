/**
 * Path canonicalisation, done once per request: the same canonical path is used for routing, for policy
 * and for the upstream request, so no spelling of a path can reach an upstream other than the one judged.
 * Configured prefixes go through the same function, so a prefix and a request path are compared in one form
 * whatever characters they hold (`/@admin`, `/odata/$metadata`, `/café`).
 *
 * The canonical path is the decoded one: every escape decoded (except those of "/" and "\", refused), the
 * bytes read as UTF-8, dot segments resolved, empty segments collapsed. Its wire form re-encodes it one way
 * only: what RFC 3986 allows raw in a path segment (pchar) stays raw, everything else is a UTF-8 escape in
 * upper-case hex. So `/@admin`, `/%40admin` and `/%40Admin`… are one path, and `/%2540admin` (the path
 * `/%40admin`, with a real "%") is another one, sent upstream as `/%2540admin`.
 */

/** A canonical request target. */
export interface NormalisedTarget {
  /**
   * The decoded canonical path: starts with "/", no dot segments, no empty segments, every escape decoded
   * (Unicode text: `/café`, `/@admin`, `/100%`). What routing and policy compare.
   */
  path: string;
  /** `path` in its one canonical wire form (`/caf%C3%A9`, `/@admin`, `/100%25`): what goes upstream. */
  wire: string;
  /** The query string without "?", passed through unchanged ('' when absent). */
  query: string;
}

/**
 * A path the slow loop would return unchanged, with a wire form equal to itself: "/" then segments of
 * pchar characters other than "%" (no escapes, no "\\", no controls, nothing outside ASCII), no empty
 * segment, and no segment starting with "." (so no "." or ".." however parametrised).
 */
const PLAIN_PATH = /^(?:\/|(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@][A-Za-z0-9\-._~!$&'()*+,;=:@]*)+\/?)$/;
/** Characters that stay raw in the wire form: RFC 3986 pchar (without "%") and "/". */
const WIRE_PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
/** Escapes encodeURIComponent makes that the wire form keeps raw (sub-delims, ":", "@", "/"). */
const WIRE_UNESCAPE = /%(?:2[46BCF]|3[ABD]|40)/g;
const unescapeWire = (escape: string) => String.fromCharCode(parseInt(escape.slice(1), 16));
/** Reads the decoded bytes as UTF-8; invalid UTF-8 throws (fatal) rather than becoming U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Hex digit values by char code (-1: not a hex digit). */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}
/** The decoded bytes of the path being canonicalised; reused (the loop is synchronous), grown as needed. */
let bytes = new Uint8Array(256);
/** A segment ending the decoded path that leaves a trailing slash once resolved: "/", "/." or "/..". */
const ENDS_AS_DIRECTORY = /\/\.{0,2}$/;

/**
 * Canonicalises a request target (origin-form) as Node gives it: the request line's bytes as latin1 text,
 * one char per byte. Returns null for what must be refused with 400: not origin-form, an encoded "/" or "\"
 * (%2F, %5C), a control character raw or encoded, a raw backslash, a broken escape, bytes that are not
 * UTF-8, or a dot segment carrying `;params` ("..;x").
 */
export function normaliseTarget(rawUrl: string): NormalisedTarget | null {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  // Most paths are already canonical in both forms: nothing to decode, no dot segments, no empty segments.
  if (PLAIN_PATH.test(rawPath)) return { path: rawPath, wire: rawPath, query };
  if (rawPath.charCodeAt(0) !== 0x2f /* / */) return null;

  if (bytes.length < rawPath.length) bytes = new Uint8Array(rawPath.length * 2);
  let n = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = HEX[rawPath.charCodeAt(i + 1)] ?? -1;
      const lo = HEX[rawPath.charCodeAt(i + 2)] ?? -1;
      if (hi < 0 || lo < 0) return null;
      const code = hi * 16 + lo;
      // An encoded "/" or "\" would be a separator to some upstreams and a name to others: refused.
      if (code === 0x2f || code === 0x5c || code < 0x20 || code === 0x7f) return null;
      bytes[n++] = code;
      i += 2;
      continue;
    }
    // Raw: no controls, space, DEL, "\" (a separator to some servers), "#" (a fragment has no place here),
    // and nothing beyond one byte (a request line is bytes; a caller with Unicode text encodes it first).
    if (c < 0x21 || c === 0x7f || c === 0x5c || c === 0x23 || c > 0xff) return null;
    bytes[n++] = c;
  }
  let decoded: string;
  try {
    decoded = UTF8.decode(bytes.subarray(0, n));
  } catch {
    return null; // not UTF-8: no canonical form, so no route can be judged for it
  }

  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    // "..;x" is ".." to Tomcat, Jetty and Spring (they drop ;params before resolving dot segments): refuse it.
    const name = segment.split(';', 1)[0];
    if (name !== segment && (name === '.' || name === '..')) return null;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const trailingSlash = out.length > 0 && ENDS_AS_DIRECTORY.test(decoded);
  const path = '/' + out.join('/') + (trailingSlash ? '/' : '');
  return { path, wire: wirePath(path), query };
}

/**
 * The one wire form of a decoded canonical path: pchar characters and "/" raw, everything else (non-ASCII
 * as its UTF-8 bytes, space, "%", "?", "#", quotes, brackets…) percent-encoded in upper-case hex. It reads
 * back (normaliseTarget) as the same path, and the WHATWG URL parser (the WebSocket client)
 * leaves it as it is.
 */
export function wirePath(path: string): string {
  if (WIRE_PLAIN.test(path)) return path;
  return encodeURIComponent(path).replace(WIRE_UNESCAPE, unescapeWire);
}

/**
 * Canonicalises a configured path prefix (Unicode text from YAML: `/café`, `/@admin`, `/caf%C3%A9`, `/a b`)
 * exactly as a request path, with one trailing slash removed so "/api/" and "/api" name the same prefix.
 * Returns null when no request could ever spell it (an encoded "/", a control character, invalid UTF-8).
 */
export function canonicalPrefix(configured: string): string | null {
  // As a client would send it: Unicode as UTF-8 bytes (one latin1 char each), a space as %20.
  const target = Buffer.from(configured, 'utf8').toString('latin1').replaceAll(' ', '%20');
  if (target.includes('?')) return null;
  const path = normaliseTarget(target)?.path;
  if (path === undefined) return null;
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
