/**
 * Path normalisation, done once per request: the same normalised path is used for routing, for policy
 * and for the upstream request, so no spelling of a path can reach an upstream other than the one judged.
 */

/** A normalised request target. */
export interface NormalisedTarget {
  /** Starts with "/", no dot segments, no empty segments, unreserved characters decoded, other escapes upper-cased. */
  path: string;
  /** The query string without "?", passed through unchanged ('' when absent). */
  query: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/**
 * A path the slow loop would return unchanged: "/" then segments of safe characters (no "%", no "\\", no
 * controls), no empty segment, and no segment starting with "." (so no "." or ".." however parametrised).
 */
const PLAIN_PATH = /^(?:\/|(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@][A-Za-z0-9\-._~!$&'()*+,;=:@]*)+\/?)$/;

/**
 * Normalises a request target (origin-form). Returns null for what must be refused with 400: not
 * origin-form, an encoded "/" or "\" (%2F, %5C) or control character, a raw backslash, a broken escape,
 * or a dot segment carrying `;params` ("..;x").
 */
export function normaliseTarget(rawUrl: string): NormalisedTarget | null {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  // Most paths are already normal: nothing to decode, no dot segments, no empty segments.
  if (PLAIN_PATH.test(rawPath)) return { path: rawPath, query };
  if (!rawPath.startsWith('/') || rawPath.includes('\\') || rawPath.includes('#')) return null;

  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charAt(i);
    if (c !== '%') {
      if (c.charCodeAt(0) < 0x21 || c.charCodeAt(0) === 0x7f) return null;
      decoded += c;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code < 0x20 || code === 0x7f) return null;
    const char = String.fromCharCode(code);
    decoded += UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
    i += 2;
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
  const trailingSlash = /\/\.{0,2}$/.test(decoded) && out.length > 0;
  return { path: '/' + out.join('/') + (trailingSlash ? '/' : ''), query };
}
